"""Product scanners besides the camera: a USB HID "keyboard wedge" and a serial scanner.

Both hand what they read to the same ``on_codes(list[Decoded])`` callback as the camera, so a
product scanned with a hand scanner is the same event as one held up to the camera.
"""
