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
    TextTable k({"name", "category", "size unit", "parameters", "description"});
    for (const auto& info : kernels()) {
      std::vector<std::string> ps;
      for (const auto& p : info.params)
        ps.push_back(p.key + "=" + (p.allowed.empty() ? p.default_value : join(p.allowed, "|")));
      k.add({info.name, info.category, info.size_unit, ps.empty() ? "-" : join(ps, " "), info.description});
    }
    k.print();
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
