// Secrets: keys and passwords. The master key file, `SecretBox` (per-secret keys, ChaCha20-Poly1305), Argon2id
// password hashing and session tokens. Where secrets are stored is Store's business. Map: docs/architecture.md,
// "Rooms" and "HTTP edge".
