from rnnbench import run
r = run("dataset=jsb model=lstm optim=adam optim.lr=0.01 train.max_epochs=40 device=cpu", quiet=True)
print(r["status"], round(r["test_nll"], 3), r["run_dir"])
