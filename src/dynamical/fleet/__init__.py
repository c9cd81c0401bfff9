"""Fleet learning: robots fine-tune a shared skill expert on their own demonstrations.

Updates are quantized, noised (DP-SGD, per-robot RDP ledger) and BFV-encrypted on the robot;
the server sums ciphertexts with a context that holds no secret key. See README "Fleet learning".
"""
