from deckforge.cli import main

main()
