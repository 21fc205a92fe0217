from alur.cli import main

main()
