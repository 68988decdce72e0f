"""Software updates: the agent on the kiosk and the release tooling for admins.

Signed, staged OTA releases are their own piece of work; today this package only reports what is
installed, so installers and HQ can already read a kiosk's version the way the agent will.
"""
