#include "cli/help_examples.h"

#include <CLI/CLI.hpp>
#include <map>
#include <string>

namespace zp::cli {
namespace {

// Command path (names joined by spaces; "" for zoneplane itself) to its
// examples, one "  command  # what it does" line each.
const std::map<std::string, std::string>& examples() {
  static const std::map<std::string, std::string> table = {
      {"",
       "  zoneplane --server https://zp.example.com:7700 --ca-cert ca.crt trust-levels\n"
       "  zoneplane run --image registry.example.com/busybox:1.36 -- echo hello\n"
       "  zoneplane list --state Running -o json\n"
       "  source <(zoneplane completion bash)     # complete commands in this shell"},
      {"run",
       "  zoneplane run --image registry.example.com/busybox:1.36 --trust internal -- echo hi\n"
       "  zoneplane run --image registry.example.com/web:2.1 --id web-1 --memory 256 --cpu 500 \\\n"
       "    --restart Always --env PORT=8080 --read-only --user 1000:1000"},
      {"apply",
       "  zoneplane apply -f workload.json\n"
       "  generate-spec | zoneplane apply -f -"},
      {"get",
       "  zoneplane get web-1\n"
       "  zoneplane get job-7 --wait Succeeded --timeout 5m    # exit 3 if it ends otherwise\n"
       "  zoneplane get --watch --node node-1"},
      {"list",
       "  zoneplane list\n"
       "  zoneplane list --state Failed --node node-2 -o json"},
      {"delete",
       "  zoneplane delete web-1\n"
       "  zoneplane delete web-1 --grace 0    # kill at once"},
      {"logs",
       "  zoneplane logs job-7\n"
       "  zoneplane logs web-1 --follow --tail 100 --stream stderr --timestamps"},
      {"exec",
       "  zoneplane exec web-1 -- cat /etc/os-release\n"
       "  zoneplane exec --timeout 60s web-1 -- sh -c 'id; ls -l /data'   # exits with its code"},
      {"nodes",
       "  zoneplane nodes\n"
       "  zoneplane nodes drain node-2"},
      {"nodes add", "  zoneplane nodes add node-3 10.0.0.23:9000"},
      {"nodes remove",
       "  zoneplane nodes remove node-3\n"
       "  zoneplane nodes remove node-3 --force   # even with workloads placed on it"},
      {"nodes cordon", "  zoneplane nodes cordon node-2"},
      {"nodes uncordon", "  zoneplane nodes uncordon node-2"},
      {"nodes drain", "  zoneplane nodes drain node-2"},
      {"isolation",
       "  zoneplane isolation node-1\n"
       "  zoneplane isolation node-1 --probe --class gvisor"},
      {"trust-levels", "  zoneplane trust-levels -o json"},
      {"tokens",
       "  zoneplane tokens\n"
       "  zoneplane tokens create --name ci --role operator --expires-in 90d"},
      {"tokens list", "  zoneplane tokens list -o json"},
      {"tokens create",
       "  zoneplane tokens create --name ci --role operator --expires-in 90d\n"
       "  zoneplane tokens create --join    # for: zoneplane-agent --join ... --join-token-file F"},
      {"tokens revoke",
       "  zoneplane tokens revoke ci\n"
       "  zoneplane tokens revoke join:3f2a9c    # an unnamed join token, as `tokens` lists it"},
      {"audit",
       "  zoneplane audit --since 2026-12-01T00:00:00Z --limit 100\n"
       "  zoneplane audit -o json"},
  };
  return table;
}

void decorate(CLI::App& app, const std::string& path) {
  const std::string footer = app.get_footer();
  if (auto found = examples().find(path);
      found != examples().end() && footer.find("EXAMPLES:") == std::string::npos) {
    app.footer("EXAMPLES:\n" + found->second + (footer.empty() ? "" : "\n\n" + footer));
  }
  for (CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name().empty()) continue;  // an option group
    decorate(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name());
  }
}

}  // namespace

void addHelpExamples(CLI::App& root) { decorate(root, ""); }

}  // namespace zp::cli
