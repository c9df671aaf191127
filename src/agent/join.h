#pragma once
// Joining a cluster (docs/architecture.md §9.1), the agent's side: with a
// one-time join token, obtain this node's certificate from the server while
// trusting nothing but the CA fingerprint the token carries. The key is made
// here and never leaves the node. Blocking: runs its own io_context on the
// calling thread (once, at start, before the daemon).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "tls/tls_context.h"

namespace zp::agent {

// The environment variable that may hold the join token.
inline constexpr const char* kJoinTokenEnv = "ZONEPLANE_JOIN_TOKEN";

// Where the join token comes from: at most one of --join-token (visible to
// other users in the process list) and --join-token-file; else the
// environment variable ZONEPLANE_JOIN_TOKEN.
struct JoinTokenSources {
  std::string flag;  // --join-token
  std::string file;  // --join-token-file
  std::string env;   // the value of ZONEPLANE_JOIN_TOKEN; "" = unset
};
// kInvalidArgument when both flags are given.
Status checkJoinTokenSources(const JoinTokenSources& sources);
// The token's text: the flag, the file's content without surrounding
// whitespace, or the environment's value. kNotFound when none is given;
// kInvalidArgument when both flags are, or the file cannot be read, is empty
// or grants its group or others any permission. Messages never hold the
// token. Its format is checked by tls::parseJoinToken().
Result<std::string> resolveJoinToken(const JoinTokenSources& sources);

// "https://HOST:PORT" (HOST a DNS name, an IPv4 address or [IPv6]; an
// optional trailing "/").
struct JoinUrl {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
Result<JoinUrl> parseJoinUrl(std::string_view url);

struct JoinOptions {
  std::string url;                       // --join
  JoinTokenSources token;                // read only when the node joins
  std::string node_id;                   // --node-id
  std::optional<std::string> advertise;  // "HOST:PORT" the server reaches this agent at
  tls::TlsFiles files;                   // where node.key, node.crt and ca.crt go
  std::chrono::milliseconds timeout{30'000};  // connect to response, in all
};

enum class JoinOutcome {
  kJoined,         // the files were written
  kAlreadyJoined,  // the files already held a valid identity for this node
};

// Joins unless `files` already hold a valid identity for the node (then
// nothing is sent, and the token is neither read nor spent). Otherwise:
// reads and checks the token (resolveJoinToken, tls::parseJoinToken), makes
// an EC P-256 key and a CSR, connects with TLS, accepts the server only when
// its chain holds the token's CA and its certificate verifies against it,
// names HOST and carries the identity `server`, sends POST /join {node_id,
// csr, address?} with the token as bearer, checks the certificate it gets
// back (this node's identity, this key, the pinned CA) and writes the key
// (0600), certificate and CA atomically.
// Errors: kInvalidArgument (options, the token's source or format), kNotFound
// (no token given), kUnauthenticated (the server is not the token's cluster,
// or it refused the token), kUnavailable (network), kDeadlineExceeded, or
// the server's refusal as an error with its status.
Result<JoinOutcome> joinCluster(const JoinOptions& options);

}  // namespace zp::agent
