// Notifications: the delivery loop of a worker, the webhook (signed) and WeCom senders, and what a message says about
// a finished run. Map: docs/architecture.md, "Notifications".
