#pragma once
// A throw-away cluster PKI for benchmarks (docs/architecture.md §9.1): the
// CA, the server's certificate (127.0.0.1, localhost) and one node's, written
// to a directory with tls/pki.h. Not for production: keys live in the
// benchmark's temporary directory.

#include <filesystem>
#include <string>

#include "common/status.h"
#include "tls/tls_context.h"

namespace zp::bench {

struct BenchPki {
  tls::TlsFiles server;  // identity server
  tls::TlsFiles node;    // identity node/<node id>
  std::string ca;        // the CA certificate
};

// Writes the CA, the server's and `node_id`'s certificates and keys into `dir`
// (created if needed).
Result<BenchPki> makeBenchPki(const std::filesystem::path& dir, const std::string& node_id);

}  // namespace zp::bench
