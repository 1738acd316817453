"""Run the room server: `python -m rooms [--host H] [--port P]`."""

from rooms.server import main

if __name__ == "__main__":
    main()
