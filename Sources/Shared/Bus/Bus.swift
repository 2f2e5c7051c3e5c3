// Bus: the libuv Unix-socket bus between the processes. Frames and messages, the API's server, the workers' and
// janitor's client with reconnect, and `BusClientPublisher` (what those processes do after a COMMIT). Only hints
// travel here; the database stays the truth. Map: docs/architecture.md, "The bus" and "After COMMIT".
