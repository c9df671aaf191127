// `zoneplane completion bash|zsh` (cli/completion.h) and the EXAMPLES of every
// command's help (cli/help_examples.h): the scripts are parsed and, for bash,
// run by the real shell; the command tree is walked through the completion
// itself, so a command added later is covered without editing this test.

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/exit_codes.h"
#include "support/run_program.h"
#include "support/temp_dir.h"
#include "write_file.h"

namespace zp::cli {
namespace {

using testsupport::inPath;
using testsupport::runProgram;

std::string script(const std::string& shell) {
  auto parsed = parseArgs({"completion", shell});
  const auto* early = std::get_if<EarlyExit>(&parsed);
  if (early == nullptr || early->code != kExitOk) return "";
  return early->out;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// What bash completes for the command line `line` (the cursor at its end; a
// trailing space starts a new, empty word), with the generated script loaded.
class BashCompletion : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!inPath("bash")) GTEST_SKIP() << "no bash";
    file_ = testing::writeFile(dir_.path(), "zoneplane.bash", script("bash"));
  }

  std::vector<std::string> complete(const std::string& line) {
    const std::string command =
        "source \"$1\" || exit 9\n"
        "read -ra COMP_WORDS <<<\"$2\"\n"
        "[[ $2 == *' ' ]] && COMP_WORDS+=('')\n"
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
        "_zoneplane && printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    auto run = runProgram({"bash", "-c", command, "bash", file_, line});
    EXPECT_EQ(run.exit_code, 0) << line << ": " << run.err;
    EXPECT_EQ(run.err, "") << line;
    return words(run.out);
  }

  testsupport::TempDir dir_{"zp-completion"};
  std::string file_;
};

TEST(Completion, BashScriptParses) {
  if (!inPath("bash")) GTEST_SKIP() << "no bash";
  testsupport::TempDir dir("zp-completion");
  const std::string text = script("bash");
  ASSERT_NE(text.find("complete -F _zoneplane zoneplane"), std::string::npos) << text;
  auto run = runProgram({"bash", "-n", testing::writeFile(dir.path(), "zoneplane.bash", text)});
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST(Completion, ZshScriptParsesAndRegisters) {
  if (!inPath("zsh")) GTEST_SKIP() << "no zsh";
  testsupport::TempDir dir("zp-completion");
  const std::string text = script("zsh");
  ASSERT_TRUE(text.starts_with("#compdef zoneplane\n")) << text.substr(0, 100);
  const std::string file = testing::writeFile(dir.path(), "_zoneplane", text);
  auto syntax = runProgram({"zsh", "-n", file});
  EXPECT_EQ(syntax.exit_code, 0) << syntax.err;
  // Sourced after compinit, it registers itself for `zoneplane`.
  auto loaded = runProgram({"zsh", "-fc",
                            "autoload -Uz compinit && compinit -u -d \"$2/zcompdump\" && "
                            "source \"$1\" && print -r -- ${_comps[zoneplane]}",
                            "zsh", file, dir.path().string()});
  EXPECT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_EQ(loaded.out, "_zoneplane\n") << loaded.err;
}

// The zsh function's choices, with zsh's completion builtins replaced by
// stubs that print what they were given (a real completion needs a terminal).
TEST(Completion, ZshOffersCommandsOptionsAndValues) {
  if (!inPath("zsh")) GTEST_SKIP() << "no zsh";
  testsupport::TempDir dir("zp-completion");
  const std::string file = testing::writeFile(dir.path(), "_zoneplane", script("zsh"));
  const std::string stubs =
      "compdef() { :; }\n"
      "source \"$1\" || exit 9\n"
      "_describe() { print -r -- \"${(P)4}\"; }\n"
      "compadd() { [[ $1 == -a ]] && print -r -- \"${(P)2}\"; }\n"
      "_files() { print -r -- \"<files $*>\"; }\n"
      "_message() { print -r -- \"<message>\"; }\n"
      "words=(${=2}); [[ $2 == *' ' ]] && words+=(''); CURRENT=$#words; "
      "PREFIX=${words[CURRENT]}; _zoneplane\n";
  auto complete = [&](const std::string& line) {
    auto run = runProgram({"zsh", "-fc", stubs, "zsh", file, line});
    EXPECT_EQ(run.exit_code, 0) << line << ": " << run.err;
    return run.out;
  };
  EXPECT_NE(complete("zoneplane nodes ").find("drain:Cordon a node"), std::string::npos);
  EXPECT_EQ(complete("zoneplane -o "), "table json\n");
  EXPECT_EQ(complete("zoneplane --server https://x:7700 run --restart "),
            "Never OnFailure Always\n");
  EXPECT_EQ(complete("zoneplane apply -f "), "<files >\n");
  EXPECT_EQ(complete("zoneplane run --image "), "<message>\n");
  EXPECT_NE(complete("zoneplane logs --").find("--follow:Keep printing"), std::string::npos);
}

TEST(Completion, UnknownShellIsAUsageError) {
  auto parsed = parseArgs({"completion", "fish"});
  const auto* early = std::get_if<EarlyExit>(&parsed);
  ASSERT_NE(early, nullptr);
  EXPECT_EQ(early->code, kExitUsage);
  EXPECT_NE(early->err.find("fish"), std::string::npos) << early->err;
}

TEST_F(BashCompletion, CommandsAndSubcommands) {
  auto top = complete("zoneplane ");
  for (const char* command : {"run", "apply", "get", "list", "delete", "logs", "nodes", "isolation",
                              "trust-levels", "tokens", "audit", "completion"}) {
    EXPECT_NE(std::find(top.begin(), top.end(), command), top.end()) << command;
  }
  EXPECT_EQ(complete("zoneplane no"), std::vector<std::string>{"nodes"});
  EXPECT_EQ(complete("zoneplane nodes dr"), std::vector<std::string>{"drain"});
  EXPECT_EQ(complete("zoneplane tokens cr"), std::vector<std::string>{"create"});
  // Global options and their values before the command do not end the walk.
  EXPECT_EQ(complete("zoneplane --server https://x:7700 -o json nodes un"),
            std::vector<std::string>{"uncordon"});
  EXPECT_EQ(complete("zoneplane completion "), (std::vector<std::string>{"bash", "zsh"}));
}

TEST_F(BashCompletion, OptionsOfTheCommandAndItsParents) {
  auto run = complete("zoneplane run --");
  for (const char* option : {"--image", "--trust", "--restart", "--server", "--output"}) {
    EXPECT_NE(std::find(run.begin(), run.end(), option), run.end()) << option;
  }
  auto logs = complete("zoneplane logs --f");
  EXPECT_EQ(logs, std::vector<std::string>{"--follow"});
  // apply's --file is not an option of run.
  EXPECT_EQ(std::find(run.begin(), run.end(), "--file"), run.end());
}

TEST_F(BashCompletion, ListedValues) {
  EXPECT_EQ(complete("zoneplane -o "), (std::vector<std::string>{"table", "json"}));
  EXPECT_EQ(complete("zoneplane run --trust mu"), std::vector<std::string>{"multi_tenant"});
  EXPECT_EQ(complete("zoneplane get x --wait Su"), std::vector<std::string>{"Succeeded"});
  EXPECT_EQ(complete("zoneplane tokens create --role "),
            (std::vector<std::string>{"admin", "operator", "viewer"}));
  // A free-text value gets nothing rather than the commands.
  EXPECT_TRUE(complete("zoneplane run --image ").empty());
}

TEST_F(BashCompletion, FileOptionsCompleteFileNames) {
  testing::writeFile(dir_.path(), "spec-one.json", "{}");
  const std::string prefix = (dir_.path() / "spec-").string();
  EXPECT_EQ(complete("zoneplane apply -f " + prefix),
            std::vector<std::string>{prefix + "one.json"});
}

// Every command the completion knows has a description and EXAMPLES in its
// --help: walks the tree by asking the completion for each command's
// subcommands.
TEST_F(BashCompletion, EveryCommandHasExamplesInItsHelp) {
  std::vector<std::vector<std::string>> pending = {{}};
  int checked = 0;
  while (!pending.empty()) {
    std::vector<std::string> path = pending.back();
    pending.pop_back();
    std::string line = "zoneplane ";
    for (const auto& word : path) line += word + " ";
    std::vector<std::string> args = path;
    args.push_back("--help");
    auto parsed = parseArgs(args);
    const auto* help = std::get_if<EarlyExit>(&parsed);
    ASSERT_NE(help, nullptr) << line;
    EXPECT_EQ(help->code, kExitOk) << line;
    const auto examples = help->out.find("\nEXAMPLES:\n");
    EXPECT_NE(examples, std::string::npos) << line << help->out;
    EXPECT_NE(help->out.find(" zoneplane ", examples), std::string::npos) << line << help->out;
    // The description is the first line, before the usage.
    EXPECT_FALSE(help->out.starts_with("Usage:")) << line;
    ++checked;
    if (path.size() >= 2) continue;  // no command is deeper than `nodes add`
    for (const auto& word : complete(line)) {
      if (path.size() == 1 && path[0] == "completion") break;  // bash, zsh: values, not commands
      if (word.starts_with("-")) continue;  // a command without subcommands offers its options
      std::vector<std::string> child = path;
      child.push_back(word);
      pending.push_back(child);
    }
  }
  EXPECT_GE(checked, 20);
}

}  // namespace
}  // namespace zp::cli
