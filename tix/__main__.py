from tix.cli import main

main()
