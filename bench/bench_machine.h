#pragma once
// Facts about the machine a benchmark ran on that explain its latency
// figures, printed beside them (docs/architecture.md §8.1.1).

#include <string>
#include <vector>

namespace zp::bench {

// One line per fact worth knowing when reading a tail latency: the CPUs
// online, and every DAMON monitor (kdamond) that is on, with what it
// monitors and how often it samples. On a virtual machine whose memory is
// reclaimed by a kdamond over physical addresses, each sample pauses every
// process on the machine for a moment (measured: 3 to 5 ms, twice a second,
// on a 2-CPU machine).
std::vector<std::string> machineNotes();

}  // namespace zp::bench
