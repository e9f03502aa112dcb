#include "app/cli.hpp"

int main(int argc, char** argv) {
  return relay::app::run_cli(argc, argv);
}
