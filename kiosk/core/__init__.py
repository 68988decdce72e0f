"""Pure checkout logic: no Kivy, no Peewee, no I/O. Everything here is a function of its inputs."""
