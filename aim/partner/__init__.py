"""Partners: who may push feeds to the hub, under which data-sharing agreement, with which credentials."""
