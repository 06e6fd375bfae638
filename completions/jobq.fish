complete --keep-order --exclusive --command jobq --arguments "(COMPLETE=fish jobq -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
