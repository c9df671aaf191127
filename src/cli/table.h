#pragma once
// Plain-text layout for the terminal: aligned tables and key: value blocks.
// Pure functions; every cell is sanitised, so text from the server can neither
// break the layout nor send control sequences to the terminal.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zp::cli {

// Replaces tabs and line breaks with spaces and other control characters
// (C0, DEL, C1) with '?'.
std::string sanitize(std::string_view text);

// Columns on a terminal: UTF-8 code points (continuation bytes do not count).
std::size_t displayWidth(std::string_view utf8);

// Header row then rows, columns left-aligned and separated by three spaces,
// no trailing spaces, each line ending in '\n'. Short rows are padded with "".
std::string renderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// One table line for output that streams (no later row can widen a column):
// each cell sanitised and padded to its entry in `widths` (a longer cell
// pushes the rest right), separated like renderTable, ending in '\n'.
std::string renderRow(const std::vector<std::string>& cells,
                      const std::vector<std::size_t>& widths);

// A cell's text, or "-" when it is empty (a field the server left unset).
inline std::string orNone(const std::string& s) { return s.empty() ? "-" : s; }

// "KEY:   value" lines, values aligned one column after the longest key.
std::string renderKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace zp::cli
