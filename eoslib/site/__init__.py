"""The course as a static website, built offline from the committed notebooks (`eoslib site`)."""
