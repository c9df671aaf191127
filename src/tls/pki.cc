// Implemented in its own change (pki.h).
