#include "cli/table.h"

#include <algorithm>

namespace zp::cli {
namespace {

constexpr std::string_view kColumnGap = "   ";

void appendPadded(std::string& out, const std::string& cell, std::size_t width) {
  out += cell;
  out.append(width - std::min(width, displayWidth(cell)), ' ');
}

}  // namespace

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u == '\t' || u == '\n' || u == '\r') {
      out.push_back(' ');
    } else if (u < 0x20 || u == 0x7f) {
      out.push_back('?');
    } else if (u == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      out.push_back('?');  // a C1 control character (U+0080..U+009F), e.g. CSI
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::size_t displayWidth(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  }));
}

std::string renderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> lines;
  lines.reserve(rows.size() + 1);
  std::size_t columns = header.size();
  for (const auto& row : rows) columns = std::max(columns, row.size());
  auto add = [&](const std::vector<std::string>& row) {
    std::vector<std::string> cells;
    cells.reserve(columns);
    for (std::size_t c = 0; c < columns; ++c) {
      cells.push_back(c < row.size() ? sanitize(row[c]) : std::string{});
    }
    lines.push_back(std::move(cells));
  };
  add(header);
  for (const auto& row : rows) add(row);

  std::vector<std::size_t> widths(columns, 0);
  for (const auto& line : lines) {
    for (std::size_t c = 0; c < columns; ++c) {
      widths[c] = std::max(widths[c], displayWidth(line[c]));
    }
  }
  std::string out;
  for (const auto& line : lines) {
    std::string text;
    for (std::size_t c = 0; c < columns; ++c) {
      if (c + 1 == columns) {
        text += line[c];
      } else {
        appendPadded(text, line[c], widths[c]);
        text += kColumnGap;
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text;
    out += '\n';
  }
  return out;
}

std::string renderRow(const std::vector<std::string>& cells,
                      const std::vector<std::size_t>& widths) {
  std::string text;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    if (c + 1 == cells.size()) {
      text += sanitize(cells[c]);
    } else {
      appendPadded(text, sanitize(cells[c]), c < widths.size() ? widths[c] : 0);
      text += kColumnGap;
    }
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text + '\n';
}

std::string renderKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::size_t width = 0;
  for (const auto& [key, value] : pairs) width = std::max(width, displayWidth(key) + 1);
  std::string out;
  for (const auto& [key, value] : pairs) {
    std::string line;
    appendPadded(line, sanitize(key) + ":", width);
    line += ' ';
    line += sanitize(value);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace zp::cli
