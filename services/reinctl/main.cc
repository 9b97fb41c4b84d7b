// reinctl: Rein's command-line client. Each command group lives in its own file and adds its
// subcommands here; main only wires them.
#include <CLI/CLI.hpp>

#include "common/process/process_setup.h"
#include "services/reinctl/auth_command.h"
#include "services/reinctl/config_command.h"
#include "services/reinctl/feedback_command.h"
#include "services/reinctl/health_command.h"
#include "services/reinctl/model_command.h"
#include "services/reinctl/run_command.h"
#include "services/reinctl/tokenize_command.h"
#include "services/reinctl/up_command.h"

int main(int argc, char** argv) {
  rein::InitProcess("reinctl");
  CLI::App app{"reinctl: Rein's command-line client"};
  app.require_subcommand(1);
  rein::reinctl::AddConfigCommands(app);
  rein::reinctl::AddHealthCommand(app);
  rein::reinctl::AddModelCommands(app);
  rein::reinctl::AddTokenizeCommands(app);
  rein::reinctl::AddUpCommand(app);
  rein::reinctl::AddRunCommands(app);
  rein::reinctl::AddExportCommand(app);
  rein::reinctl::AddFeedbackCommands(app);
  rein::reinctl::AddAuthCommands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
