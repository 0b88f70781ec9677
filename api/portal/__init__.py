"""The portal: server-rendered screens for MASH, safeguarding and DPO staff.

It holds the partnership key set (to encode searches) and calls the hub's API over HTTP as the signed-in staff user;
it never opens the hub's database and never imports the hub's routes.
"""
