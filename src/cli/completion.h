#pragma once
// Shell completion for `zoneplane completion bash|zsh`: scripts generated from
// the CLI11 command tree that parseArgs builds (args.cc), so every command,
// option and listed value is offered as the parser knows it, with nothing to
// keep in step by hand.
//
// What is completed: subcommands (at any depth), the options of the command
// typed so far (with the parent's options where the command falls through to
// it), the values of options that list them (CLI::IsMember), file names for
// options whose type name is FILE and directory names for DIR. Other values
// and positional arguments are left to the user; after `--` the shell's
// default completion applies.

#include <string>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace zp::cli {

enum class Shell { kBash, kZsh };

// Adds `completion SHELL` to `app` (its help included); `shell` receives
// "bash" or "zsh".
CLI::App* addCompletionCommand(CLI::App& app, std::string& shell);

// The script for `shell`, registering completion for `program`. `root` is
// only read. The bash script defines _<program> (dashes as underscores) and
// calls `complete`; the zsh script is a #compdef file for a directory in
// $fpath, and also works when sourced after compinit.
std::string completionScript(const CLI::App& root, std::string_view program, Shell shell);

}  // namespace zp::cli
