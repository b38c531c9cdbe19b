# METADATA
# custom:
#   settings:
#     - name: mode
#       default: dry_run
#     - name: teams
#       type: strings
#       default: [core]
package runpolicy.policies.declared

import data.runpolicy.lib

deny contains "not a core team" if not input.team in lib.settings("declared").teams
