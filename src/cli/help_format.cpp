// The wrapping help formatter (help_format.hpp).
#include "cli/help_format.hpp"

#include <string>

namespace corescope::cli {

namespace {

// `text` with a '\n' wherever its next word would pass `width` columns; its own breaks stay.
std::string wrapped(const std::string& text, std::size_t width) {
  std::string out, word;
  std::size_t column = 0;
  const auto flush = [&] {
    if (word.empty()) return;
    if (column > 0 && column + 1 + word.size() > width) {
      out += '\n';
      column = 0;
    }
    if (column > 0) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    word.clear();
  };
  for (const char c : text) {
    if (c != ' ' && c != '\n') {
      word += c;
      continue;
    }
    flush();
    if (c == '\n') {
      out += '\n';
      column = 0;
    }
  }
  flush();
  return out;
}

// CLI11 indents the lines of a description after the first to its column itself.
class WrappingFormatter : public CLI::Formatter {
 public:
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrapped(CLI::Formatter::make_option_desc(opt), kHelpColumns - get_column_width());
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    const std::string description = wrapped(sub->get_description(), kHelpColumns - get_column_width());
    CLI::detail::format_help(out, sub->get_display_name(), description, get_column_width());
    return out.str();
  }
  std::string make_description(const CLI::App* app) const override {
    return wrapped(CLI::Formatter::make_description(app), kHelpColumns);
  }
};

}  // namespace

std::shared_ptr<CLI::Formatter> wrapping_formatter() { return std::make_shared<WrappingFormatter>(); }

}  // namespace corescope::cli
