#pragma once
// The EXAMPLES section of `zoneplane [COMMAND...] --help`: one place holding
// the examples of every command, added to the command tree by parseArgs
// (args.cc) once the tree is built.

namespace CLI {
class App;
}  // namespace CLI

namespace zp::cli {

// Puts "EXAMPLES:" and the command's examples before the footer of every
// command in `root`'s tree that has examples and no EXAMPLES section of its
// own. Commands are found by their path ("nodes drain"); one without an entry
// is left as it is (tests/cli/help_test.cc requires an entry for each).
void addHelpExamples(CLI::App& root);

}  // namespace zp::cli
