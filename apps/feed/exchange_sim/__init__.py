"""The exchange simulator: a price model (GBM or real-bar replay), its reproducible history,
and a server speaking Alpaca's stream and REST formats (``manage.py run_exchange_sim``)."""
