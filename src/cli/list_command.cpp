// `corescope list`: the kernel and mode registries as tables.
#include "kernels/registry.hpp"
#include "backends/registry.hpp"
#include "cli/commands.hpp"
#include "cli/table_printer.hpp"
#include "core/kernel.hpp"
#include "core/mode.hpp"
#include "core/text.hpp"

namespace corescope::cli {

void add_list(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand("list", "List kernels and modes (and which modes this build has)");
  sub->callback([&exit_code] {
    std::printf("Kernels\n");
    TextTable k({"name", "category", "figure of merit", "description"});
    for (const auto& info : kernels()) {
      const Merit& m = info.merit;
      const std::string figure = m.name + " per " + (m.rate ? "second" : m.unit);
      k.add({info.name, info.category, figure, info.description});
    }
    k.print();
    std::printf("\nKernel options (--size, and -p KEY=VALUE)\n");
    TextTable p({"kernel", "option", "default", "meaning"});
    for (const auto& info : kernels()) {
      p.add({info.name, "--size", "S|M|L", info.size_unit});
      for (const auto& spec : info.params)
        p.add({"", spec.key, spec.allowed.empty() ? spec.default_value : join(spec.allowed, "|"), spec.help});
    }
    p.print();
    std::printf("\nModes\n");
    TextTable m({"name", "built", "channels", "description"});
    for (const auto& info : modes())
      m.add({info.name, info.built ? "yes" : "no", info.channels.empty() ? "-" : join(info.channels, ","),
             info.description + (info.needs_launcher ? " [start with mpirun/srun]" : "")});
    m.print();
    exit_code = 0;
  });
}

}  // namespace corescope::cli
