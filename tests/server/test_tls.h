#pragma once
// TLS for in-process server tests (docs/architecture.md §9): the contexts an
// HttpServer, the server's agent links, the fake agents and the test HTTP
// clients use, made from a throw-away PKI (tests/support/test_pki.h) in a
// directory the test owns. Built once per test; the contexts are read-only
// afterwards and may be shared across threads.

#include <boost/asio/ssl/context.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "support/test_pki.h"

namespace zp::server::testing {

struct TestTls {
  // Creates (or reuses) the PKI in `dir` (created if missing). Failures are
  // test failures (ADD_FAILURE) and leave the contexts null.
  explicit TestTls(const std::filesystem::path& dir);

  testsupport::TestPki pki;
  std::shared_ptr<boost::asio::ssl::context> api;     // HTTPS (TLS 1.2+), server.crt
  std::shared_ptr<boost::asio::ssl::context> agents;  // the server's mutual TLS 1.3 to agents
  std::shared_ptr<boost::asio::ssl::context> client;  // an HTTPS client trusting the CA

  // What the agent of node `id` presents: its node certificate, requiring a
  // client certificate of the CA (TLS 1.3), as zoneplane-agent does.
  std::shared_ptr<boost::asio::ssl::context> agent(const std::string& id) const;
};

}  // namespace zp::server::testing
