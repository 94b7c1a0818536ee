// `corescope list`: the kernel and mode registries as tables.
#include <memory>
#include <utility>

#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "cli/commands.hpp"
#include "cli/table_printer.hpp"
#include "core/kernel.hpp"
#include "core/mode.hpp"
#include "core/errors.hpp"
#include "core/text.hpp"

namespace corescope::cli {

namespace {
TextTable kernel_table(bool markdown) {
  TextTable k({markdown ? "kernel" : "name", "category", "figure of merit", "description"});
  for (const auto& info : kernels()) {
    const Merit& m = info.merit;
    k.add({info.name, info.category, m.name + " per " + (m.rate ? "second" : m.unit),
           info.description});
  }
  return k;
}

TextTable option_table() {
  TextTable p({"kernel", "option", "default", "meaning"});
  for (const auto& info : kernels()) {
    p.add({info.name, "--size", "S|M|L", info.size_unit});
    for (const auto& spec : info.params)
      p.add({"", spec.key, spec.allowed.empty() ? spec.default_value : join(spec.allowed, "|"),
             spec.help});
  }
  return p;
}

std::string mode_text(const ModeInfo& info) {
  return info.description + (info.needs_launcher ? " [start with mpirun/srun]" : "");
}

// The text table says what this build has; the Markdown one, for the docs, what every mode is.
TextTable mode_table(bool markdown) {
  TextTable m(markdown ? std::vector<std::string>{"mode", "memory", "channels", "description"}
                       : std::vector<std::string>{"name", "built", "channels", "description"});
  for (const auto& info : modes()) {
    const std::string channels =
        info.channels.empty() ? "-" : join(info.channels, markdown ? ", " : ",");
    m.add({info.name,
           markdown     ? memory_name(info.memory)
           : info.built ? "yes"
                        : "no",
           channels, mode_text(info)});
  }
  return m;
}
}  // namespace

// The three tables under their titles; as Markdown each title is a "### " heading, and docs/ and
// README.md hold the tables between markers (the docs.tables test checks that they match).
void print_list(bool markdown) {
  const std::pair<const char*, TextTable> sections[] = {
      {"Kernels", kernel_table(markdown)},
      {"Options of the kernels (--size, and -p KEY=VALUE)", option_table()},
      {"Modes", mode_table(markdown)}};
  const char* gap = "";
  for (const auto& [title, table] : sections) {
    std::printf(markdown ? "%s### %s\n\n" : "%s%s\n", gap, title);
    if (markdown)
      table.print_markdown();
    else
      table.print();
    gap = "\n";
  }
}

void add_list(CLI::App& app, int& exit_code) {
  CLI::App* sub =
      app.add_subcommand("list", "List kernels and modes (and which modes this build has)");
  auto format = std::make_shared<std::string>("text");
  sub->add_option("--format", *format, "text, or markdown (the tables of the docs)")
      ->capture_default_str();
  sub->callback([format, &exit_code] {
    if (*format != "text" && *format != "markdown")
      throw UsageError("--format " + *format + ": expected text or markdown");
    print_list(*format == "markdown");
    exit_code = 0;
  });
}

}  // namespace corescope::cli
