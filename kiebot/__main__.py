from kiebot.cli import main

raise SystemExit(main())
