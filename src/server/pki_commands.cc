// `zoneplane-server ca init` and `zoneplane-server certs issue`
// (admin_commands.h, docs/architecture.md §9.1): the cluster CA and the
// certificates it signs, as files. Run offline, on the server's machine.

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <system_error>

#include "common/time.h"
#include "server/admin_commands.h"
#include "server/config.h"
#include "tls/pki.h"

namespace zp::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCaCommonName = "zoneplane cluster CA";
constexpr int kMaxValidityDays = 36500;

struct CaInitOptions {
  std::string data_dir{kDefaultDataDir};
  std::string key_type = "ec-p256";
  int validity_days = 3650;
  bool force = false;
};

struct IssueOptions {
  std::string data_dir{kDefaultDataDir};
  tls::Identity::Kind kind = tls::Identity::Kind::kServer;  // which of the three was given
  bool server = false;
  std::string node;
  std::string client;
  std::string out;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  int validity_days = 365;
  std::string key_type = "ec-p256";
};

int failed(const Error& error) {
  std::cerr << "zoneplane-server: " << error.toString() << std::endl;
  return 1;
}

// Whether `path` exists; a path that cannot be checked counts as existing,
// so nothing is overwritten on a guess.
bool present(const fs::path& path) {
  std::error_code error;
  const bool exists = fs::exists(path, error);
  return exists || static_cast<bool>(error);
}

std::string pkiDir(const std::string& data_dir) { return (fs::path(data_dir) / "pki").string(); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Moves an existing CA in `dir` to ca.crt.old/ca.key.old; refuses when an
// old CA is already there (at most one is kept, never one destroyed).
Status moveCaAside(const std::string& dir) {
  const std::string names[] = {"ca.crt", "ca.key"};
  for (const auto& name : names) {
    if (present(fs::path(dir) / (name + ".old"))) {
      return fail(Code::kAlreadyExists,
                  (fs::path(dir) / (name + ".old")).string() +
                      " exists: move the previous old CA away first");
    }
  }
  for (const auto& name : names) {
    const fs::path from = fs::path(dir) / name;
    if (!present(from)) continue;
    std::error_code error;
    fs::rename(from, fs::path(from) += ".old", error);
    if (error) return fail(Code::kUnavailable, "cannot move " + from.string() + ": " + error.message());
  }
  return ok();
}

int runCaInit(const CaInitOptions& options) {
  const std::string dir = pkiDir(options.data_dir);
  const bool exists = present(fs::path(dir) / "ca.crt") || present(fs::path(dir) / "ca.key");
  if (exists && !options.force) {
    std::cerr << "zoneplane-server: a CA already exists in " << dir
              << "; it is never replaced silently (--force moves it to ca.crt.old/ca.key.old, "
                 "after which every certificate it issued must be issued again)"
              << std::endl;
    return 1;
  }
  auto ca = tls::CertificateAuthority::create(*tls::parseKeyType(options.key_type), kCaCommonName,
                                              std::chrono::days(options.validity_days));
  if (!ca) return failed(ca.error());
  if (exists) {
    if (auto moved = moveCaAside(dir); !moved) return failed(moved.error());
    std::cout << "moved the old CA to " << dir << "/ca.crt.old and ca.key.old" << std::endl;
  }
  if (auto saved = ca->save(dir); !saved) return failed(saved.error());
  std::cout << "wrote " << dir << "/ca.key (private key, mode 0600: keep it on this machine)\n"
            << "wrote " << dir << "/ca.crt\n"
            << "CA fingerprint (sha256): " << ca->fingerprint() << std::endl;
  if (exists) {
    std::cout << "certificates of the old CA no longer verify: issue the server's and every "
                 "node's again (certs issue)"
              << std::endl;
  }
  return 0;
}

// The machine's host name, lowercased, when it is a DNS name.
std::optional<std::string> hostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return std::nullopt;
  std::string host(name);
  std::ranges::transform(host, host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!tls::isDnsName(host)) {
    std::cerr << "zoneplane-server: the host name \"" << host
              << "\" is not a DNS name; it is left out of the certificate" << std::endl;
    return std::nullopt;
  }
  return host;
}

// What `certs issue` makes: the profile and the files' stem and directory.
struct IssuePlan {
  tls::CertProfile profile;
  std::string stem;  // server, ID or NAME
  std::string out;   // directory
};

Result<IssuePlan> planIssue(const IssueOptions& options) {
  IssuePlan plan;
  plan.profile.validity = std::chrono::days(options.validity_days);
  if (options.kind == tls::Identity::Kind::kServer) {
    plan.profile.identity = tls::Identity::server();
    plan.stem = "server";
    plan.out = options.out.empty() ? pkiDir(options.data_dir) : options.out;
    plan.profile.dns_names = {"localhost"};
    if (auto host = hostName()) plan.profile.dns_names.push_back(*host);
    plan.profile.ip_addresses = {"127.0.0.1", "::1"};
  } else {
    const bool node = options.kind == tls::Identity::Kind::kNode;
    plan.profile.identity =
        node ? tls::Identity::node(options.node) : tls::Identity::client(options.client);
    plan.stem = node ? options.node : options.client;
    plan.out = options.out.empty() ? "." : options.out;
    if (!node && (!options.dns.empty() || !options.ip.empty())) {
      return fail(Code::kInvalidArgument, "--dns and --ip are for --server and --node certificates");
    }
  }
  if (auto s = tls::validateIdentity(plan.profile.identity); !s) return fail(s.error());
  plan.profile.dns_names.insert(plan.profile.dns_names.end(), options.dns.begin(), options.dns.end());
  plan.profile.ip_addresses.insert(plan.profile.ip_addresses.end(), options.ip.begin(),
                                   options.ip.end());
  return plan;
}

bool sameDirectory(const std::string& a, const std::string& b) {
  std::error_code error;
  return fs::equivalent(a, b, error) && !error;
}

int runIssue(const IssueOptions& options) {
  auto plan = planIssue(options);
  if (!plan) return failed(plan.error());
  const std::string ca_dir = pkiDir(options.data_dir);
  auto ca = tls::CertificateAuthority::load(ca_dir);
  if (!ca) return failed(ca.error());
  auto key = tls::PrivateKey::generate(*tls::parseKeyType(options.key_type));
  if (!key) return failed(key.error());
  auto chain = ca->issue(*key, plan->profile);
  if (!chain) return failed(chain.error());
  auto info = tls::inspectCertificate(*chain);
  if (!info) return failed(info.error());
  const std::string key_pem = key->pem();
  if (key_pem.empty()) return failed(Error{Code::kInternal, "cannot encode the key", {}});

  if (auto s = tls::makePrivateDirectory(plan->out); !s) return failed(s.error());
  const fs::path out(plan->out);
  const std::string key_path = (out / (plan->stem + ".key")).string();
  const std::string cert_path = (out / (plan->stem + ".crt")).string();
  if (auto s = tls::writeFileAtomically(key_path, key_pem, 0600); !s) return failed(s.error());
  std::cout << "wrote " << key_path << " (private key, mode 0600)\n";
  if (auto s = tls::writeFileAtomically(cert_path, *chain, 0644); !s) return failed(s.error());
  std::cout << "wrote " << cert_path << " (" << plan->profile.identity.describe();
  if (!info->dns_names.empty()) std::cout << "; DNS " << join(info->dns_names);
  if (!info->ip_addresses.empty()) std::cout << "; IP " << join(info->ip_addresses);
  std::cout << "; valid until " << formatRfc3339(info->not_after) << ")\n";
  if (!sameDirectory(plan->out, ca_dir)) {
    const std::string ca_path = (out / "ca.crt").string();
    if (auto s = tls::writeFileAtomically(ca_path, ca->certPem(), 0644); !s) return failed(s.error());
    std::cout << "wrote " << ca_path << " (the cluster CA)\n";
  }
  std::cout << "CA fingerprint (sha256): " << ca->fingerprint() << std::endl;
  return 0;
}

void addCaInit(CLI::App& app, int& exit_code) {
  auto* ca = app.add_subcommand("ca", "The cluster CA");
  ca->require_subcommand(1);
  auto options = std::make_shared<CaInitOptions>();
  auto* init = ca->add_subcommand("init", "Create the cluster CA in <data-dir>/pki");
  init->add_option("--data-dir", options->data_dir, "The server's data directory")
      ->capture_default_str();
  init->add_option("--key-type", options->key_type, "Key type of the CA")
      ->check(CLI::IsMember({"ec-p256", "ed25519"}))
      ->capture_default_str();
  init->add_option("--validity-days", options->validity_days, "Validity of the CA certificate")
      ->check(CLI::Range(1, kMaxValidityDays))
      ->capture_default_str();
  init->add_flag("--force", options->force,
                 "Replace an existing CA, keeping it as ca.crt.old/ca.key.old");
  init->callback([options, &exit_code] { exit_code = runCaInit(*options); });
}

void addCertsIssue(CLI::App& app, int& exit_code) {
  auto* certs = app.add_subcommand("certs", "Certificates signed by the cluster CA");
  certs->require_subcommand(1);
  auto options = std::make_shared<IssueOptions>();
  auto* issue = certs->add_subcommand("issue", "Issue a key and certificate");
  auto* who = issue->add_option_group("identity", "Whom the certificate is for (exactly one)");
  who->add_flag("--server", options->server,
                "The server: <data-dir>/pki/server.crt and .key unless --out");
  auto* node = who->add_option("--node", options->node, "Node ID: ID.crt, ID.key and ca.crt in --out");
  auto* client = who->add_option("--client", options->client,
                                 "Client NAME: NAME.crt, NAME.key and ca.crt in --out");
  who->require_option(1);
  issue->add_option("--data-dir", options->data_dir, "The server's data directory (the CA)")
      ->capture_default_str();
  issue->add_option("--out", options->out,
                    "Directory for the files (default: <data-dir>/pki for --server, else .)");
  issue->add_option("--dns", options->dns, "Extra DNS name (repeatable)");
  issue->add_option("--ip", options->ip, "Extra IP address (repeatable)");
  issue->add_option("--validity-days", options->validity_days, "Validity of the certificate")
      ->check(CLI::Range(1, kMaxValidityDays))
      ->capture_default_str();
  issue->add_option("--key-type", options->key_type, "Key type")
      ->check(CLI::IsMember({"ec-p256", "ed25519"}))
      ->capture_default_str();
  issue->callback([options, node, client, &exit_code] {
    options->kind = node->count() > 0     ? tls::Identity::Kind::kNode
                    : client->count() > 0 ? tls::Identity::Kind::kClient
                                          : tls::Identity::Kind::kServer;
    exit_code = runIssue(*options);
  });
}

}  // namespace

void addPkiCommands(CLI::App& app, int& exit_code) {
  addCaInit(app, exit_code);
  addCertsIssue(app, exit_code);
}

}  // namespace zp::server
