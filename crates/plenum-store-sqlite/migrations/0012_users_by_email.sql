-- Rocket.Chat's login takes an e-mail address as well as a username: the user whose address
-- it is is looked up by this index (addresses compared without regard to ASCII case).
CREATE INDEX users_by_email ON users (email COLLATE NOCASE) WHERE email <> '';
