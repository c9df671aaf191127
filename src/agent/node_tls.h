#pragma once
// The node's TLS identity on disk (docs/architecture.md §9.1, §9.2): checks
// that the files the agent is given are this node's, and builds the TLS
// context of the protocol port from them. Functions over files and values;
// thread-safe.

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "tls/tls_context.h"

typedef struct ssl_st SSL;

namespace zp::agent {

// The protocol port's TLS context, after checking that `files` hold node
// `node_id`'s identity: the certificate loads, names node/<node_id>, is
// valid now and chains to the CA file, and the key belongs to it. The
// context offers TLS 1.3 only and requires a client certificate of the CA
// (the peer's identity is checked per connection). kNotFound when the
// certificate is missing (the node has not joined); kInvalidArgument
// otherwise; the message names the file and what is wrong.
Result<std::shared_ptr<boost::asio::ssl::context>> loadNodeTls(const tls::TlsFiles& files,
                                                               const std::string& node_id);

// What the peer of `ssl` presented, for log lines: its identity
// ("server", "node/ID", ...), else the certificate's subject, else "no
// certificate". Its chain need not have verified.
std::string presentedIdentity(SSL* ssl);

}  // namespace zp::agent
