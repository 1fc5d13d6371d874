"""parcrawl's processing side: fetched pages in, records out to the sinks.

``pipelines.worker`` runs in the worker processes (pure, picklable, no network or event
loop); ``stage``, ``batching``, ``executors``, ``dedupe`` and ``sinks`` run in the main
process around it.
"""
