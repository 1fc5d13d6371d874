"""parcrawl's CPU side: pure functions turning fetched pages into records, in worker processes.

Nothing here touches the network or the event loop.
"""
