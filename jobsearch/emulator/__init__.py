"""Confluent Cloud on one machine: REST v3 produce, a durable log, the HTTP Sink."""

from jobsearch.emulator.log import EventLog, NewRecord, Record
from jobsearch.emulator.server import Emulator

__all__ = ["Emulator", "EventLog", "NewRecord", "Record"]
