from crossfade.cli import main

raise SystemExit(main())
