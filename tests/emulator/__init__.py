"""Local emulator of Alibaba Cloud RAM, ECS, STS and the ECS instance metadata service.

Standard library only. Start it with ``python -m tests.emulator --port 0`` from the
repository root, or from Python with :func:`tests.emulator.process.start_emulator`.
"""
