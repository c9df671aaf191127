// zoneplane-server tokens create|list|revoke: API tokens against the
// database directly (docs/architecture.md §9.3), for bootstrap (the first
// admin token) and recovery (a lost or leaked admin token). A running
// server picks up a new token when it is first presented and drops a
// revoked one within seconds (auth/token_registry.h). create and revoke
// append an audit entry in the same transaction, by principal
// local:<user name> (local:<uid> when the user has no name).

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/time.h"
#include "server/admin_commands.h"
#include "server/auth/token.h"
#include "server/config.h"
#include "store/sqlite_store.h"
#include "tls/pki.h"

namespace zp::server {
namespace {

// Where the database is: --database, else <data dir>/zoneplane.db.
struct StoreFlags {
  std::string data_dir{kDefaultDataDir};
  std::string database;

  std::string databasePath() const {
    return database.empty() ? (std::filesystem::path(data_dir) / "zoneplane.db").string()
                            : database;
  }
};

struct CreateFlags {
  StoreFlags store;
  std::string name;
  std::string role;
  bool join = false;
  std::string expires_in;
};

struct RevokeFlags {
  StoreFlags store;
  std::string name;
};

int report(std::string_view command, const Error& error) {
  std::cerr << "zoneplane-server tokens " << command << ": " << error.toString() << std::endl;
  return 1;
}

int usage(std::string_view command, std::string_view message) {
  std::cerr << "zoneplane-server tokens " << command << ": " << message << std::endl;
  return 2;
}

void addStoreFlags(CLI::App& command, StoreFlags& flags) {
  command.add_option("--data-dir", flags.data_dir, "the server's data directory")
      ->capture_default_str();
  command.add_option("--database", flags.database,
                     "the server's database (default: <data dir>/zoneplane.db)");
}

Result<std::unique_ptr<store::SqliteStore>> openStore(const StoreFlags& flags) {
  // The database and its journals hold secrets' hashes and workload env values.
  ::umask(077);
  const std::string path = flags.databasePath();
  if (auto s = ensureDatabaseDirectory(path); !s) return fail(s.error());
  return store::SqliteStore::open(path);
}

// The token that `name` names, or the unnamed join token whose id it is.
const store::TokenRecord* findToken(const std::vector<store::TokenRecord>& tokens,
                                    const std::string& name) {
  for (const auto& token : tokens) {
    if (token.name == name) return &token;
  }
  for (const auto& token : tokens) {
    if (token.name.empty() && token.id == name) return &token;
  }
  return nullptr;
}

// Who runs the command, as the audit log names them.
std::string localPrincipal() {
  const uid_t uid = ::getuid();
  std::vector<char> buffer(16 * 1024);
  struct passwd entry {};
  struct passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && found->pw_name[0] != '\0') {
    return "local:" + std::string(found->pw_name);
  }
  return "local:" + std::to_string(uid);
}

// The audit entry of a change made by this command: `result` is the status
// the API answers for the same change.
store::Write auditEntry(std::string_view command, const store::TokenRecord& token, int result,
                        TimePoint now) {
  store::AuditEntry entry;
  entry.time = now;
  entry.principal = localPrincipal();
  entry.action = "zoneplane-server tokens " + std::string(command);
  entry.target = token.name.empty() ? token.id : token.name;
  entry.result = result;
  entry.source = "local";
  return store::AppendAudit{std::move(entry)};
}

std::string describe(const store::TokenRecord& token) {
  std::string out = "token " + token.id;
  if (!token.name.empty()) out += " \"" + token.name + "\"";
  out += " (role " + token.role + ", ";
  out += token.expires_at ? "expires " + formatRfc3339(*token.expires_at) : "no expiry";
  return out + ")";
}

int create(const CreateFlags& flags) {
  auth::TokenSpec spec;
  spec.name = flags.name;
  if (flags.join) {
    spec.role = auth::Role::kJoin;
  } else {
    auto role = auth::parseRole(flags.role);
    if (!role || *role == auth::Role::kJoin) {
      return usage("create", "--role must be admin, operator or viewer (or use --join)");
    }
    spec.role = *role;
    if (flags.name.empty()) return usage("create", "--name is required with --role");
  }
  if (!flags.expires_in.empty()) {
    auto lifetime = auth::parseLifetime(flags.expires_in, "--expires-in");
    if (!lifetime) return report("create", lifetime.error());
    spec.lifetime = *lifetime;
  }
  if (flags.join) {
    const std::string ca_file =
        (std::filesystem::path(flags.store.data_dir) / "pki" / "ca.crt").string();
    auto pem = tls::readFile(ca_file);
    if (!pem) {
      return report("create", Error{pem.error().code,
                                    "a join token needs the cluster CA (" + ca_file +
                                        "; run `zoneplane-server ca init`): " + pem.error().message,
                                    ""});
    }
    auto fingerprint = tls::fingerprint(*pem);
    if (!fingerprint) return report("create", fingerprint.error());
    spec.ca_sha256 = *fingerprint;
  }
  if (auto s = auth::validateTokenSpec(spec); !s) return report("create", s.error());

  auto store = openStore(flags.store);
  if (!store) return report("create", store.error());
  auto tokens = (*store)->loadTokens();
  if (!tokens) return report("create", tokens.error());
  if (!spec.name.empty() && findToken(*tokens, spec.name) != nullptr) {
    return report("create", Error{Code::kAlreadyExists,
                                  "a token named \"" + spec.name + "\" exists", "name"});
  }
  auto taken = [&](const std::string& id) {
    return std::any_of(tokens->begin(), tokens->end(),
                       [&](const auto& token) { return token.id == id; });
  };
  const TimePoint now = SystemClock::instance().now();
  auto issued = auth::issueToken(spec, now);
  for (int attempt = 0; issued && taken(issued->record.id) && attempt < 8; ++attempt) {
    issued = auth::issueToken(spec, now);
  }
  if (!issued) return report("create", issued.error());
  if (taken(issued->record.id)) {
    return report("create", Error{Code::kInternal, "could not draw an unused token id", ""});
  }
  if (auto s = (*store)->apply(
          {store::PutToken{issued->record}, auditEntry("create", issued->record, 201, now)});
      !s) {
    return report("create", s.error());
  }
  std::cout << issued->text << std::endl;
  std::cerr << "created " << describe(issued->record) << "; the token is shown only now"
            << std::endl;
  return 0;
}

int list(const StoreFlags& flags) {
  auto store = openStore(flags);
  if (!store) return report("list", store.error());
  auto tokens = (*store)->loadTokens();
  if (!tokens) return report("list", tokens.error());
  auto time = [](const std::optional<TimePoint>& t) { return t ? formatRfc3339(*t) : "-"; };
  std::cout << std::left << std::setw(24) << "NAME" << std::setw(14) << "ID" << std::setw(10)
            << "ROLE" << std::setw(26) << "CREATED" << std::setw(26) << "EXPIRES"
            << "LAST USED" << '\n';
  for (const auto& token : *tokens) {
    std::string role = token.role;
    if (token.used) role += "*";
    std::cout << std::setw(24) << (token.name.empty() ? "-" : token.name) << std::setw(14)
              << token.id << std::setw(10) << role << std::setw(26)
              << formatRfc3339(token.created_at) << std::setw(26) << time(token.expires_at)
              << time(token.last_used_at) << '\n';
  }
  if (std::any_of(tokens->begin(), tokens->end(), [](const auto& t) { return t.used; })) {
    std::cout << "(* a join token that has been used)\n";
  }
  std::cout.flush();
  return 0;
}

int revoke(const RevokeFlags& flags) {
  auto store = openStore(flags.store);
  if (!store) return report("revoke", store.error());
  auto tokens = (*store)->loadTokens();
  if (!tokens) return report("revoke", tokens.error());
  const store::TokenRecord* token = findToken(*tokens, flags.name);
  if (token == nullptr) {
    return report("revoke", Error{Code::kNotFound,
                                  "no token named \"" + flags.name.substr(0, 80) + "\"", "name"});
  }
  if (auto s = (*store)->apply({store::DeleteToken{token->id},
                                auditEntry("revoke", *token, 200, SystemClock::instance().now())});
      !s) {
    return report("revoke", s.error());
  }
  std::cout << "revoked " << describe(*token) << std::endl;
  return 0;
}

}  // namespace

void addTokenCommands(CLI::App& app, int& exit_code) {
  CLI::App* tokens = app.add_subcommand("tokens", "API tokens, offline against the database");
  tokens->require_subcommand(1);

  auto create_flags = std::make_shared<CreateFlags>();
  CLI::App* create_command = tokens->add_subcommand(
      "create", "create a token and print it alone on the first line (shown only once)");
  create_command->add_option("--name", create_flags->name,
                             "the token's name (a DNS-1123 label; optional with --join)");
  auto* role =
      create_command->add_option("--role", create_flags->role, "admin, operator or viewer");
  auto* join = create_command->add_flag("--join", create_flags->join,
                                        "a one-time join token for an agent (default expiry 1h)");
  role->excludes(join);
  create_command->add_option("--expires-in", create_flags->expires_in,
                             "lifetime such as 90d, 12h, 30m, 3600s (default: none; join: 1h)");
  addStoreFlags(*create_command, create_flags->store);
  create_command->callback([create_flags, &exit_code] {
    if (!create_flags->join && create_flags->role.empty()) {
      exit_code = usage("create", "give --name and --role, or --join");
      return;
    }
    exit_code = create(*create_flags);
  });

  auto list_flags = std::make_shared<StoreFlags>();
  CLI::App* list_command = tokens->add_subcommand("list", "list the tokens (never their secrets)");
  addStoreFlags(*list_command, *list_flags);
  list_command->callback([list_flags, &exit_code] { exit_code = list(*list_flags); });

  auto revoke_flags = std::make_shared<RevokeFlags>();
  CLI::App* revoke_command = tokens->add_subcommand(
      "revoke",
      "delete a token by name (an unnamed join token by id); a running server "
      "stops accepting it within seconds");
  revoke_command->add_option("name", revoke_flags->name, "the token's name or id")->required();
  addStoreFlags(*revoke_command, revoke_flags->store);
  revoke_command->callback([revoke_flags, &exit_code] { exit_code = revoke(*revoke_flags); });
}

}  // namespace zp::server
