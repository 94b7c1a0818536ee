// The wrapping help formatter (help_format.hpp).
#include "cli/help_format.hpp"

#include <string>

#include "core/text.hpp"

namespace corescope::cli {

namespace {

// CLI11 indents the lines of a description after the first to its column itself.
class WrappingFormatter : public CLI::Formatter {
 public:
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrapped(CLI::Formatter::make_option_desc(opt), kTextColumns - get_column_width());
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    const std::string description =
        wrapped(sub->get_description(), kTextColumns - get_column_width());
    CLI::detail::format_help(out, sub->get_display_name(), description, get_column_width());
    return out.str();
  }
  std::string make_description(const CLI::App* app) const override {
    return wrapped(CLI::Formatter::make_description(app), kTextColumns);
  }
};

}  // namespace

std::shared_ptr<CLI::Formatter> wrapping_formatter() {
  return std::make_shared<WrappingFormatter>();
}

}  // namespace corescope::cli
