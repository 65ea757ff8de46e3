import GraftCLI
GraftMain.main()
