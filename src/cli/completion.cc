#include "cli/completion.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>
#include <vector>

#include "common/version.h"

namespace zp::cli {
namespace {

// What an option's value completes to.
enum class ValueKind { kNone, kText, kWords, kFile, kDir };

struct OptionInfo {
  std::vector<std::string> names;  // "--output", "-o"
  std::string description;
  ValueKind kind = ValueKind::kNone;
  std::vector<std::string> words;  // kWords: the listed values
};

struct CommandInfo {
  std::string path;  // "" for the program, "/nodes/add" for `nodes add`
  // Words offered where an argument may stand: the subcommands' names, then
  // the listed values of positional arguments (`completion bash`); with their
  // descriptions.
  std::vector<std::pair<std::string, std::string>> arguments;
  std::vector<OptionInfo> options;
};

// A word the scripts may hold unquoted in a case pattern or a word list.
bool isPlainWord(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/' || c == ':' || c == '+';
  });
}

// The values of a CLI::IsMember check: CLI11 shows them as "{a,b}" after the
// type name ("TEXT:{table,json}").
std::vector<std::string> listedValues(const std::string& type_name) {
  std::vector<std::string> values;
  const auto open = type_name.find(":{");
  const auto close = type_name.find('}', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return values;
  std::stringstream list(type_name.substr(open + 2, close - open - 2));
  for (std::string value; std::getline(list, value, ',');) {
    if (isPlainWord(value)) values.push_back(value);
  }
  return values;
}

OptionInfo describeOption(const CLI::Option& option) {
  OptionInfo info;
  for (const auto& name : option.get_lnames()) info.names.push_back("--" + name);
  for (const auto& name : option.get_snames()) info.names.push_back("-" + name);
  info.description = option.get_description();
  if (option.get_type_size_max() == 0 || option.get_expected_max() == 0) return info;  // a flag
  const std::string type_name = option.get_type_name();
  info.words = listedValues(type_name);
  if (!info.words.empty()) {
    info.kind = ValueKind::kWords;
  } else if (type_name.starts_with("FILE")) {
    info.kind = ValueKind::kFile;
  } else if (type_name.starts_with("DIR")) {
    info.kind = ValueKind::kDir;
  } else {
    info.kind = ValueKind::kText;
  }
  return info;
}

// The named options of `app` and of its option groups (nameless subcommands).
void ownOptions(const CLI::App& app, std::vector<OptionInfo>& out) {
  for (const CLI::Option* option : app.get_options()) {
    if (!option->get_lnames().empty() || !option->get_snames().empty()) {
      out.push_back(describeOption(*option));
    }
  }
  for (const CLI::App* group : app.get_subcommands({})) {
    if (group->get_name().empty()) ownOptions(*group, out);
  }
}

bool hasName(const std::vector<OptionInfo>& options, const std::string& name) {
  return std::any_of(options.begin(), options.end(), [&](const OptionInfo& option) {
    return std::find(option.names.begin(), option.names.end(), name) != option.names.end();
  });
}

// Depth first, parents before children. `inherited`: the parent's options,
// taken when `app` falls through to its parent (CLI11's fallthrough()).
void collect(const CLI::App& app, const std::string& path, const std::vector<OptionInfo>& inherited,
             std::vector<CommandInfo>& out) {
  CommandInfo command{path, {}, {}};
  ownOptions(app, command.options);
  if (app.get_fallthrough()) {
    for (const auto& option : inherited) {
      const bool shadowed = std::any_of(option.names.begin(), option.names.end(),
                                        [&](const auto& n) { return hasName(command.options, n); });
      if (!shadowed) command.options.push_back(option);
    }
  }
  std::vector<const CLI::App*> children;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (!isPlainWord(sub->get_name())) continue;  // option groups have no name
    command.arguments.emplace_back(sub->get_name(), sub->get_description());
    children.push_back(sub);
  }
  for (const CLI::Option* option : app.get_options()) {
    if (!option->get_positional()) continue;
    for (const auto& value : listedValues(option->get_type_name())) {
      command.arguments.emplace_back(value, option->get_description());
    }
  }
  const std::vector<OptionInfo> options = command.options;
  out.push_back(std::move(command));
  for (const CLI::App* child : children) {
    collect(*child, path + "/" + child->get_name(), options, out);
  }
}

std::vector<CommandInfo> commandTree(const CLI::App& root) {
  std::vector<CommandInfo> commands;
  collect(root, "", {}, commands);
  return commands;
}

std::string functionName(std::string_view program) {
  std::string name = "_" + std::string(program);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// `text` as one single-quoted shell word, on one line.
std::string shellQuoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += (c == '\n' || c == '\t') ? ' ' : c;
    }
  }
  return out + "'";
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

// "PATH NAME" patterns of one option, as case alternatives.
std::string optionPattern(const std::string& path, const OptionInfo& option) {
  std::string pattern;
  for (const auto& name : option.names) {
    pattern += (pattern.empty() ? "\"" : "|\"") + path + " " + name + "\"";
  }
  return pattern;
}

const char* kindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kWords:
      return "words";
    case ValueKind::kFile:
      return "file";
    case ValueKind::kDir:
      return "dir";
    default:
      return "text";
  }
}

// The function both shells share: <fn>_option PATH WORD succeeds when WORD is
// an option of PATH that takes a value, and sets `kind_var` to its kind and,
// for listed values, the words in the shell's own way
// (words_assign_prefix + "a b c" + words_suffix).
void writeOptionFunction(std::ostream& out, const std::string& fn,
                         const std::vector<CommandInfo>& commands, const std::string& kind_var,
                         const std::string& words_assign_prefix, const std::string& words_suffix) {
  out << "# " << fn << "_option PATH WORD: succeeds when WORD is an option of the command\n"
      << "# PATH (\"\" or /sub/command) that takes a value; sets " << kind_var
      << " (words, file,\n# dir or text) and the words to offer.\n"
      << fn << "_option() {\n  case \"$1 $2\" in\n";
  for (const auto& command : commands) {
    for (const auto& option : command.options) {
      if (option.kind == ValueKind::kNone || option.names.empty()) continue;
      out << "    " << optionPattern(command.path, option) << ") " << kind_var << "='"
          << kindName(option.kind) << "'";
      if (option.kind == ValueKind::kWords) {
        out << "; " << words_assign_prefix << join(option.words) << words_suffix;
      }
      out << " ;;\n";
    }
  }
  out << "    *) return 1 ;;\n  esac\n}\n\n";
}

std::string commandPatterns(const std::vector<CommandInfo>& commands) {
  std::string out;
  for (const auto& command : commands) {
    if (command.path.empty()) continue;
    out += (out.empty() ? "\"" : "|\"") + command.path + "\"";
  }
  return out;
}

std::string header(std::string_view program, std::string_view shell, std::string_view install) {
  std::ostringstream out;
  out << "# " << shell << " completion for " << program << " " << kVersion
      << ", generated from its command tree by\n# `" << program << " completion " << shell
      << "`.\n#   Load it now:  source <(" << program << " completion " << shell << ")\n"
      << "#   Install it:   " << install << "\n";
  return out.str();
}

std::string bashScript(const std::vector<CommandInfo>& commands, std::string_view program) {
  const std::string fn = functionName(program);
  std::ostringstream out;
  out << header(program, "bash",
                std::string(program) + " completion bash > /etc/bash_completion.d/" +
                    std::string(program))
      << "\n";
  writeOptionFunction(out, fn, commands, fn + "_kind", fn + "_words=\"", "\"");
  out << fn << "() {\n"
      << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
      << "  local cmd_path='' word i " << fn << "_kind='' " << fn << "_words=''\n"
      << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "    word=${COMP_WORDS[i]}\n"
      << "    if [[ $word == -- ]]; then  # the workload's command follows\n"
      << "      compopt -o default 2>/dev/null\n"
      << "      COMPREPLY=()\n"
      << "      return 0\n"
      << "    fi\n"
      << "    if " << fn << "_option \"$cmd_path\" \"$word\"; then\n"
      << "      ((i += 1))\n"
      << "      [[ ${COMP_WORDS[i]-} != = ]] || ((i += 1))\n"
      << "      continue\n"
      << "    fi\n"
      << "    case \"$cmd_path/$word\" in\n"
      << "      " << commandPatterns(commands) << ") cmd_path=$cmd_path/$word ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  if [[ $prev == = ]] && ((COMP_CWORD >= 2)); then prev=${COMP_WORDS[COMP_CWORD - 2]}; "
         "fi\n"
      << "  if [[ $prev == -* ]] && " << fn << "_option \"$cmd_path\" \"$prev\"; then\n"
      << "    case $" << fn << "_kind in\n"
      << "      words) mapfile -t COMPREPLY < <(compgen -W \"$" << fn
      << "_words\" -- \"$cur\") ;;\n"
      << "      file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "
         "\"$cur\") ;;\n"
      << "      dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "
         "\"$cur\") ;;\n"
      << "      *) COMPREPLY=() ;;\n"
      << "    esac\n"
      << "    return 0\n"
      << "  fi\n"
      << "  local arguments='' options=''\n"
      << "  case $cmd_path in\n";
  for (const auto& command : commands) {
    std::vector<std::string> names, options;
    for (const auto& [name, description] : command.arguments) names.push_back(name);
    for (const auto& option : command.options) {
      for (const auto& name : option.names) options.push_back(name);
    }
    out << "    \"" << command.path << "\") arguments=\"" << join(names) << "\" options=\""
        << join(options) << "\" ;;\n";
  }
  out << "  esac\n"
      << "  if [[ $cur == -* || -z $arguments ]]; then\n"
      << "    mapfile -t COMPREPLY < <(compgen -W \"$options\" -- \"$cur\")\n"
      << "  else\n"
      << "    mapfile -t COMPREPLY < <(compgen -W \"$arguments\" -- \"$cur\")\n"
      << "  fi\n"
      << "}\n\n"
      << "complete -F " << fn << " " << program << "\n";
  return out.str();
}

std::string zshScript(const std::vector<CommandInfo>& commands, std::string_view program) {
  const std::string fn = functionName(program);
  std::ostringstream out;
  out << "#compdef " << program << "\n"
      << header(program, "zsh",
                std::string(program) + " completion zsh > \"${fpath[1]}/_" + std::string(program) +
                    "\"")
      << "\n";
  writeOptionFunction(out, fn, commands, "REPLY", "reply=(", ")");
  out << fn << "() {\n"
      << "  local cmd_path='' word REPLY\n"
      << "  local -a reply arguments options\n"
      << "  local -i i\n"
      << "  for ((i = 2; i < CURRENT; i++)); do\n"
      << "    word=${words[i]}\n"
      << "    if [[ $word == -- ]]; then  # the workload's command follows\n"
      << "      _files\n"
      << "      return\n"
      << "    fi\n"
      << "    if " << fn << "_option \"$cmd_path\" \"$word\"; then\n"
      << "      ((i += 1))\n"
      << "      continue\n"
      << "    fi\n"
      << "    case \"$cmd_path/$word\" in\n"
      << "      " << commandPatterns(commands) << ") cmd_path=$cmd_path/$word ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  if [[ ${words[CURRENT - 1]} == -* ]] && " << fn
      << "_option \"$cmd_path\" \"${words[CURRENT - 1]}\"; then\n"
      << "    case $REPLY in\n"
      << "      words) compadd -a reply ;;\n"
      << "      file) _files ;;\n"
      << "      dir) _files -/ ;;\n"
      << "      *) _message 'value' ;;\n"
      << "    esac\n"
      << "    return\n"
      << "  fi\n"
      << "  case $cmd_path in\n";
  for (const auto& command : commands) {
    out << "    \"" << command.path << "\")\n      arguments=(";
    for (const auto& [name, description] : command.arguments) {
      out << "\n        " << shellQuoted(name + ":" + description);
    }
    out << ")\n      options=(";
    for (const auto& option : command.options) {
      for (const auto& name : option.names) {
        out << "\n        " << shellQuoted(name + ":" + option.description);
      }
    }
    out << ") ;;\n";
  }
  out << "  esac\n"
      << "  if [[ $PREFIX == -* || ${#arguments} -eq 0 ]]; then\n"
      << "    _describe -t options option options\n"
      << "  else\n"
      << "    _describe -t arguments argument arguments\n"
      << "  fi\n"
      << "}\n\n"
      << "if [[ ${funcstack[1]-} == " << fn << " ]]; then\n"
      << "  " << fn << " \"$@\"\n"
      << "else\n"
      << "  compdef " << fn << " " << program << "\n"
      << "fi\n";
  return out.str();
}

}  // namespace

CLI::App* addCompletionCommand(CLI::App& app, std::string& shell) {
  auto* command =
      app.add_subcommand("completion", "Print the shell completion script (bash or zsh)");
  command->add_option("shell", shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  command->footer(
      "Prints a script that completes commands, options and their listed values; it is\n"
      "generated from this program, so it always matches it. The package installs both\n"
      "(/usr/share/bash-completion/completions/zoneplane, /usr/share/zsh/vendor-completions/\n"
      "_zoneplane).\n"
      "\n"
      "EXAMPLES:\n"
      "  source <(zoneplane completion bash)              # this bash session\n"
      "  zoneplane completion bash > ~/.local/share/bash-completion/completions/zoneplane\n"
      "  zoneplane completion zsh > \"${fpath[1]}/_zoneplane\"  # zsh, then: compinit");
  return command;
}

std::string completionScript(const CLI::App& root, std::string_view program, Shell shell) {
  const std::vector<CommandInfo> commands = commandTree(root);
  return shell == Shell::kBash ? bashScript(commands, program) : zshScript(commands, program);
}

}  // namespace zp::cli
