from rnnbench.cli import main

if __name__ == "__main__":  # not when a spawned worker process (population.dispatch=processes) imports it
    main()
