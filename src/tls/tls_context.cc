#include "tls/tls_context.h"
