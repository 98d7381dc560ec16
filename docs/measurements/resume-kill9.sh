set -x
rnnbench experiment=fdrnn-jsb train.max_epochs=8 train.patience=8 device=cpu train.progress=false hydra.run.dir=/tmp/k9/killed > first.log 2>&1 &
PID=$!
until [ -f killed/checkpoint.pt ] && python -c "import torch,sys; sys.exit(torch.load('killed/checkpoint.pt',weights_only=True)['epoch']<3)" 2>/dev/null; do sleep 0.1; done
kill -9 $PID; wait $PID; echo "exit status $?"
ls killed; tail -n +2 killed/metrics.csv | cut -d, -f1,3,5
python -c "import torch; c=torch.load('killed/checkpoint.pt',weights_only=True); print('checkpoint after epoch', c['epoch'])"
rnnbench experiment=fdrnn-jsb train.max_epochs=8 train.patience=8 device=cpu train.progress=false hydra.run.dir=/tmp/k9/killed 2>&1 | grep -E "resuming|epoch|ok:" | cut -c1-160
rnnbench experiment=fdrnn-jsb train.max_epochs=8 train.patience=8 device=cpu train.progress=false hydra.run.dir=/tmp/k9/killed; echo "exit status $?"
