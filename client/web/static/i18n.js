// All user-visible text, in French and English, and the helpers to use it.
//
// Format (embed_test.go reads it; keep it): each dictionary is the object
// literal opened by the line `const fr = {` or `const en = {` and closed by
// the line `};`. One entry per line: `  'key': 'text',` (the key in single
// quotes; the text in single or double quotes, no escapes). Placeholders
// are {name}. Both dictionaries have the same keys and, per key, the same
// placeholders. Plural forms are keys ending in .one and .other (see tn).

const fr = {
  'app.name': 'Palabre',
  'a11y.skip': 'Aller au contenu',
  'lang.label': 'Langue',
  'lang.fr': 'Français',
  'lang.en': 'English',
  'title.home': 'Palabre — salles audio',
  'title.room': '{room} — Palabre',
  'title.ended': '{room} — terminé — Palabre',

  'home.title': 'Parler ensemble, simplement',
  'home.lead': 'Des salles audio dans le navigateur, avec push-to-talk et mot de passe. Rien à installer, pas de compte.',
  'create.title': 'Créer une salle',
  'create.name': 'Nom de la salle',
  'create.name_help': 'Lettres minuscules sans accent, chiffres et tirets (1 à 64), sans tiret au début ni à la fin. Exemple : chorale-mardi',
  'create.name_invalid': 'Ce nom de salle ne convient pas : lettres minuscules sans accent (a à z), chiffres et tirets seulement, de 1 à 64 caractères, sans tiret au début ni à la fin.',
  'create.name_uppercase': 'Le nom de salle s’écrit en minuscules : remplacez les majuscules (et les lettres accentuées, les espaces).',
  'create.password': 'Mot de passe (facultatif)',
  'create.password_help': 'Laissez vide pour une salle sans mot de passe. Il faudra le donner aux participants.',
  'create.mode': 'Mode',
  'create.token_summary': 'Ce serveur demande un jeton de création ?',
  'create.token': 'Jeton de création',
  'create.token_help': 'Seulement si l’équipe qui gère ce serveur vous en a donné un.',
  'create.submit': 'Créer la salle',
  'created.title': 'Salle créée',
  'created.participant_link': 'Lien pour les participants',
  'created.organizer_link': 'Lien organisateur',
  'created.copy_participant': 'Copier le lien pour les participants',
  'created.copy_organizer': 'Copier le lien organisateur',
  'created.warning': 'Le lien organisateur n’est affiché qu’une seule fois : copiez-le et gardez-le pour vous. Il permet de couper les micros, d’exclure, de donner la parole et de verrouiller la salle.',
  'created.enter': 'Entrer comme organisateur',
  'copy.button': 'Copier',
  'copy.done': 'Copié dans le presse-papiers.',
  'copy.manual_selected': 'Copie impossible ici : le texte est sélectionné, copiez-le avec Ctrl+C (ou ⌘+C).',
  'copy.done_invite': 'Lien d’invitation copié : {url}',
  'copy.manual': 'Copie impossible ici. Lien d’invitation : {url}',
  'goto.title': 'Rejoindre une salle',
  'goto.name': 'Nom de la salle',
  'goto.submit': 'Y aller',

  'mode.open': 'Micro ouvert',
  'mode.ptt': 'Push-to-talk',
  'mode.moderated': 'Modéré',
  'mode.open.help': 'Micro ouvert : tout le monde peut parler, sauf qui a coupé son micro.',
  'mode.ptt.help': 'Push-to-talk : on n’est entendu que pendant qu’on maintient la touche ou le grand bouton « Parler ».',
  'mode.moderated.help': 'Modéré : on lève la main, un organisateur donne la parole.',
  'mode.now_open_muted': 'La salle passe en micro ouvert. Votre micro reste coupé : réactivez-le quand vous voulez parler.',
  'mode.changed': 'La salle passe en mode : {mode}.',

  'prejoin.title': 'Salle',
  'prejoin.loading': 'Chargement des informations de la salle…',
  'prejoin.adhoc': 'Cette salle n’a pas encore été créée : elle le sera en entrant, en micro ouvert, sans mot de passe, et disparaîtra quand tout le monde sera parti.',
  'prejoin.count.one': '{n} personne dans la salle.',
  'prejoin.count.other': '{n} personnes dans la salle.',
  'prejoin.locked': 'La salle est verrouillée : seuls les organisateurs peuvent entrer.',
  'prejoin.as_organizer': 'Vous entrerez comme organisateur.',
  'prejoin.name': 'Votre nom',
  'prejoin.password': 'Mot de passe de la salle',
  'prejoin.mic': 'Microphone',
  'prejoin.mic_level': 'Niveau du microphone',
  'prejoin.mic_retry': 'Réessayer le microphone',
  'prejoin.mic_unnamed': 'Microphone {n}',
  'prejoin.headphones': 'Un casque ou des écouteurs évitent l’écho.',
  'prejoin.join': 'Entrer',
  'prejoin.joining': 'Connexion…',
  'prejoin.name_invalid': 'Indiquez un nom (1 à 64 caractères).',
  'prejoin.password_required': 'Cette salle demande un mot de passe.',
  'mic.asking': 'Autorisez le microphone dans la fenêtre du navigateur.',
  'mic.ok': 'Parlez : la barre doit bouger.',
  'mic.denied': 'Le microphone est refusé. Vous pouvez entrer pour écouter, ou l’autoriser dans les réglages du navigateur puis réessayer.',
  'mic.none': 'Aucun microphone trouvé. Vous pouvez entrer pour écouter.',
  'mic.error': 'Le microphone ne répond pas. Vous pouvez entrer pour écouter, ou réessayer.',
  'mic.unsupported': 'Ce navigateur ne donne pas accès au microphone sur cette adresse (il faut HTTPS). Vous pouvez écouter.',
  'mic.lost': 'Le microphone a été débranché ou coupé : retour au microphone par défaut.',
  'mic.listen_only': 'Sans microphone : vous pouvez écouter, pas parler.',

  'room.mic_live': 'Micro ouvert',
  'room.mic_off': 'Micro coupé',
  'room.level': 'Niveau de votre microphone',
  'room.sound_blocked': 'Le navigateur a bloqué le son.',
  'room.enable_sound': 'Activer le son',
  'room.talk': 'Parler',
  'room.copy_link': 'Copier le lien d’invitation',
  'room.leave': 'Quitter',
  'room.participants': 'Participants',
  'room.count.one': '({n})',
  'room.count.other': '({n})',
  'room.locked': 'Verrouillée',
  'room.unlocked': 'Déverrouillée',
  'room.invalid_name': 'Cette adresse ne désigne pas une salle : les noms de salle sont en minuscules, chiffres et tirets.',
  'media.connecting': 'Connexion audio en cours…',
  'media.unstable': 'Connexion audio instable…',
  'reconnect.banner': 'Connexion perdue, reconnexion…',
  'reconnect.moving': 'La salle change de serveur, reconnexion…',
  'reconnect.detail': '(dernier essai : {reason})',
  'reconnect.back': 'Reconnecté.',

  'ptt.label': 'Maintenir pour parler',
  'ptt.talking': 'Vous parlez',
  'ptt.latch': 'Parler sans tenir',
  'ptt.hint': 'Maintenez la touche {key} ou le bouton pour parler.',
  'ptt.key_change': 'Touche : {key} (changer)',
  'ptt.key_capture': 'Appuyez sur la nouvelle touche (Échap pour annuler)…',
  'ptt.moderated': 'Salle modérée : levez la main, un organisateur vous donnera la parole.',
  'ptt.no_mic': 'Pas de microphone : vous pouvez seulement écouter.',
  'ptt.muted': 'Votre micro est coupé : réactivez-le d’abord.',
  'ptt.lost': 'Un organisateur a pris la parole : votre micro est coupé.',
  'talk.no_mic': 'Pas de microphone : vous écoutez.',
  'talk.offline': 'Pas connecté : personne ne vous entend.',
  'talk.open': 'Micro ouvert : on vous entend.',
  'talk.open_muted': 'Votre micro est coupé.',
  'talk.ptt': 'On ne vous entend que pendant que vous parlez avec le bouton.',
  'talk.moderated': 'Levez la main pour demander la parole.',
  'talk.moderated_floor': 'Vous avez la parole : on vous entend.',
  'talk.moderated_organizer': 'Organisateur : maintenez le bouton pour parler, donnez la parole dans la liste.',
  'mute.mute': 'Couper mon micro',
  'mute.unmute': 'Réactiver mon micro',
  'mute.by_organizer': 'Un organisateur a coupé votre micro : lui seul peut le réactiver.',
  'mute.muted_by': '{name} a coupé votre micro.',
  'mute.unmuted_by': '{name} a réactivé votre micro.',
  'mute.unmuted_by_open': '{name} vous autorise à reparler : réactivez votre micro quand vous voulez.',
  'hand.raise': 'Lever la main',
  'hand.lower': 'Baisser la main',
  'floor.granted': 'Vous avez la parole : on vous entend.',
  'floor.granted_muted': 'Vous avez la parole, mais votre micro est coupé.',
  'floor.revoked': 'Vous n’avez plus la parole.',

  'tag.you': 'vous',
  'tag.organizer': 'organisateur',
  'tag.floor': 'a la parole',
  'tag.hand': 'main levée',
  'tag.muted': 'micro coupé',
  'tag.speaking': 'parle',
  'role.organizer': 'Un organisateur',
  'action.mute': 'Couper',
  'action.mute.label': 'Couper le micro de {name}',
  'action.unmute': 'Réactiver',
  'action.unmute.label': 'Réactiver le micro de {name}',
  'action.grant': 'Donner la parole',
  'action.grant.label': 'Donner la parole à {name}',
  'action.revoke': 'Reprendre la parole',
  'action.revoke.label': 'Reprendre la parole à {name}',
  'action.kick': 'Exclure',
  'action.kick.label': 'Exclure {name} de la salle',
  'org.title': 'Réglages de la salle',
  'org.lock': 'Verrouiller la salle',
  'org.unlock': 'Déverrouiller la salle',
  'org.mode': 'Mode de la salle',
  'org.password': 'Nouveau mot de passe',
  'org.password_save': 'Enregistrer',
  'org.password_help': 'Laissez vide et enregistrez pour supprimer le mot de passe.',
  'org.password_set': 'Mot de passe changé.',
  'org.password_removed': 'Mot de passe supprimé : la salle est sans mot de passe.',
  'org.kicked': '{name} a été exclu de la salle.',
  'announce.speaking': '{name} parle',
  'announce.joined': '{name} est arrivé',
  'announce.left': '{name} est parti',
  'announce.kicked': '{name} a été exclu',
  'announce.hand': '{name} lève la main',
  'announce.locked': 'La salle est verrouillée.',
  'announce.unlocked': 'La salle est déverrouillée.',
  'key.space': 'Espace',
  'key.enter': 'Entrée',
  'key.ctrl_left': 'Ctrl gauche',
  'key.ctrl_right': 'Ctrl droite',
  'key.shift_left': 'Maj gauche',
  'key.shift_right': 'Maj droite',
  'key.alt_left': 'Alt gauche',
  'key.alt_right': 'Alt droite',

  'ended.left_title': 'Vous avez quitté la salle',
  'ended.left': 'À bientôt.',
  'ended.kicked_title': 'Vous avez été exclu',
  'ended.kicked': '{name} vous a retiré de la salle.',
  'ended.closed_title': 'Salle fermée',
  'ended.closed': 'La salle a été supprimée par un organisateur.',
  'ended.rejoin': 'Revenir dans la salle',
  'ended.home': 'Accueil',

  'error.bad_password': 'Mot de passe incorrect.',
  'error.bad_secret': 'Ce lien organisateur n’est pas (ou plus) valable. Vous pouvez entrer comme participant.',
  'error.room_full': 'La salle est pleine.',
  'error.room_locked': 'La salle est verrouillée : seuls les organisateurs peuvent entrer.',
  'error.rate_limited': 'Trop d’essais : patientez un moment avant de réessayer.',
  'error.not_found': 'Cette salle n’existe pas, et ce serveur n’en crée pas à la volée.',
  'error.not_found_participant': 'Cette personne n’est plus dans la salle.',
  'error.bad_message': 'Le serveur n’a pas compris la demande.',
  'error.unsupported_version': 'Cette page est trop ancienne pour ce serveur : rechargez-la.',
  'error.internal': 'Le serveur a eu un problème : réessayez.',
  'error.flood': 'Trop de messages envoyés d’un coup : le serveur a coupé la connexion.',
  'error.floor_busy': 'Quelqu’un d’autre a déjà la parole : attendez qu’il ou elle ait fini.',
  'error.not_allowed': 'Ce n’est pas possible : réservé aux organisateurs, ou pas dans ce mode.',
  'error.bad_state': 'Pas possible maintenant : réessayez dans un instant.',
  'error.closed': 'Pas connecté au serveur.',
  'error.timeout': 'Le serveur ne répond pas.',
  'error.network': 'Impossible de joindre le serveur.',
  'error.redirect': 'Le serveur nous envoie vers un autre serveur, sans succès : réessayez dans un moment.',
  'error.exists': 'Ce nom de salle est déjà pris : choisissez-en un autre.',
  'error.create_token': 'Ce serveur demande un jeton de création valable (voir « jeton de création »).',
  'error.bad_request': 'Le serveur a refusé : {message}',
  'error.unknown': 'Erreur : {message}',
};

const en = {
  'app.name': 'Palabre',
  'a11y.skip': 'Skip to content',
  'lang.label': 'Language',
  'lang.fr': 'Français',
  'lang.en': 'English',
  'title.home': 'Palabre — audio rooms',
  'title.room': '{room} — Palabre',
  'title.ended': '{room} — ended — Palabre',

  'home.title': 'Talk together, simply',
  'home.lead': 'Audio rooms in the browser, with push-to-talk and passwords. Nothing to install, no account.',
  'create.title': 'Create a room',
  'create.name': 'Room name',
  'create.name_help': 'Lower-case letters, digits and hyphens (1 to 64), no hyphen at the start or end. Example: choir-tuesday',
  'create.name_invalid': 'This room name won’t do: only lower-case letters (a to z), digits and hyphens, 1 to 64 characters, no hyphen at the start or end.',
  'create.name_uppercase': 'Room names are lower-case: replace the capitals (and any accented letters or spaces).',
  'create.password': 'Password (optional)',
  'create.password_help': 'Leave empty for a room without a password. Participants will need it.',
  'create.mode': 'Mode',
  'create.token_summary': 'This server asks for a creation token?',
  'create.token': 'Creation token',
  'create.token_help': 'Only if the people who run this server gave you one.',
  'create.submit': 'Create the room',
  'created.title': 'Room created',
  'created.participant_link': 'Link for participants',
  'created.organizer_link': 'Organizer link',
  'created.copy_participant': 'Copy the link for participants',
  'created.copy_organizer': 'Copy the organizer link',
  'created.warning': 'The organizer link is shown only this once: copy it and keep it to yourself. It lets you mute, remove, give the floor and lock the room.',
  'created.enter': 'Enter as organizer',
  'copy.button': 'Copy',
  'copy.done': 'Copied to the clipboard.',
  'copy.manual_selected': 'Copying is not possible here: the text is selected, copy it with Ctrl+C (or ⌘+C).',
  'copy.done_invite': 'Invitation link copied: {url}',
  'copy.manual': 'Copying is not possible here. Invitation link: {url}',
  'goto.title': 'Join a room',
  'goto.name': 'Room name',
  'goto.submit': 'Go',

  'mode.open': 'Open mic',
  'mode.ptt': 'Push-to-talk',
  'mode.moderated': 'Moderated',
  'mode.open.help': 'Open mic: everyone can speak, except those who muted themselves.',
  'mode.ptt.help': 'Push-to-talk: you are heard only while you hold the key or the big “Talk” button.',
  'mode.moderated.help': 'Moderated: raise your hand, an organizer gives you the floor.',
  'mode.now_open_muted': 'The room is now open mic. Your microphone stays muted: unmute it when you want to speak.',
  'mode.changed': 'The room is now in mode: {mode}.',

  'prejoin.title': 'Room',
  'prejoin.loading': 'Loading the room’s details…',
  'prejoin.adhoc': 'This room has not been created yet: it will be when you enter, as an open-mic room without a password, and it will vanish when everyone has left.',
  'prejoin.count.one': '{n} person in the room.',
  'prejoin.count.other': '{n} people in the room.',
  'prejoin.locked': 'The room is locked: only organizers can enter.',
  'prejoin.as_organizer': 'You will enter as an organizer.',
  'prejoin.name': 'Your name',
  'prejoin.password': 'Room password',
  'prejoin.mic': 'Microphone',
  'prejoin.mic_level': 'Microphone level',
  'prejoin.mic_retry': 'Try the microphone again',
  'prejoin.mic_unnamed': 'Microphone {n}',
  'prejoin.headphones': 'Headphones or earphones avoid echo.',
  'prejoin.join': 'Join',
  'prejoin.joining': 'Joining…',
  'prejoin.name_invalid': 'Enter a name (1 to 64 characters).',
  'prejoin.password_required': 'This room needs a password.',
  'mic.asking': 'Allow the microphone in the browser’s prompt.',
  'mic.ok': 'Say something: the bar should move.',
  'mic.denied': 'The microphone was refused. You can join to listen, or allow it in the browser’s settings and try again.',
  'mic.none': 'No microphone found. You can join to listen.',
  'mic.error': 'The microphone does not respond. You can join to listen, or try again.',
  'mic.unsupported': 'This browser gives no microphone access at this address (HTTPS is needed). You can listen.',
  'mic.lost': 'The microphone was unplugged or stopped: back to the default microphone.',
  'mic.listen_only': 'No microphone: you can listen, not speak.',

  'room.mic_live': 'Mic live',
  'room.mic_off': 'Mic off',
  'room.level': 'Your microphone level',
  'room.sound_blocked': 'The browser blocked the sound.',
  'room.enable_sound': 'Turn sound on',
  'room.talk': 'Talk',
  'room.copy_link': 'Copy the invitation link',
  'room.leave': 'Leave',
  'room.participants': 'Participants',
  'room.count.one': '({n})',
  'room.count.other': '({n})',
  'room.locked': 'Locked',
  'room.unlocked': 'Unlocked',
  'room.invalid_name': 'This address is not a room: room names are lower-case letters, digits and hyphens.',
  'media.connecting': 'Connecting audio…',
  'media.unstable': 'Audio connection unstable…',
  'reconnect.banner': 'Connection lost, reconnecting…',
  'reconnect.moving': 'The room is moving to another server, reconnecting…',
  'reconnect.detail': '(last attempt: {reason})',
  'reconnect.back': 'Reconnected.',

  'ptt.label': 'Hold to talk',
  'ptt.talking': 'You are talking',
  'ptt.latch': 'Talk without holding',
  'ptt.hint': 'Hold the {key} key or the button to talk.',
  'ptt.key_change': 'Key: {key} (change)',
  'ptt.key_capture': 'Press the new key (Escape to cancel)…',
  'ptt.moderated': 'Moderated room: raise your hand and an organizer will give you the floor.',
  'ptt.no_mic': 'No microphone: you can only listen.',
  'ptt.muted': 'Your microphone is muted: unmute it first.',
  'ptt.lost': 'An organizer took the floor: your microphone is off.',
  'talk.no_mic': 'No microphone: you are listening.',
  'talk.offline': 'Not connected: nobody hears you.',
  'talk.open': 'Open mic: you can be heard.',
  'talk.open_muted': 'Your microphone is muted.',
  'talk.ptt': 'You are heard only while you talk with the button.',
  'talk.moderated': 'Raise your hand to ask for the floor.',
  'talk.moderated_floor': 'You have the floor: you can be heard.',
  'talk.moderated_organizer': 'Organizer: hold the button to talk, give the floor from the list.',
  'mute.mute': 'Mute my microphone',
  'mute.unmute': 'Unmute my microphone',
  'mute.by_organizer': 'An organizer muted you: only an organizer can unmute you.',
  'mute.muted_by': '{name} muted you.',
  'mute.unmuted_by': '{name} unmuted you.',
  'mute.unmuted_by_open': '{name} lets you speak again: unmute your microphone when you are ready.',
  'hand.raise': 'Raise my hand',
  'hand.lower': 'Lower my hand',
  'floor.granted': 'You have the floor: you can be heard.',
  'floor.granted_muted': 'You have the floor, but your microphone is muted.',
  'floor.revoked': 'You no longer have the floor.',

  'tag.you': 'you',
  'tag.organizer': 'organizer',
  'tag.floor': 'has the floor',
  'tag.hand': 'hand raised',
  'tag.muted': 'muted',
  'tag.speaking': 'speaking',
  'role.organizer': 'An organizer',
  'action.mute': 'Mute',
  'action.mute.label': 'Mute {name}',
  'action.unmute': 'Unmute',
  'action.unmute.label': 'Unmute {name}',
  'action.grant': 'Give the floor',
  'action.grant.label': 'Give the floor to {name}',
  'action.revoke': 'Take the floor back',
  'action.revoke.label': 'Take the floor back from {name}',
  'action.kick': 'Remove',
  'action.kick.label': 'Remove {name} from the room',
  'org.title': 'Room settings',
  'org.lock': 'Lock the room',
  'org.unlock': 'Unlock the room',
  'org.mode': 'Room mode',
  'org.password': 'New password',
  'org.password_save': 'Save',
  'org.password_help': 'Leave empty and save to remove the password.',
  'org.password_set': 'Password changed.',
  'org.password_removed': 'Password removed: the room has no password now.',
  'org.kicked': '{name} was removed from the room.',
  'announce.speaking': '{name} is speaking',
  'announce.joined': '{name} joined',
  'announce.left': '{name} left',
  'announce.kicked': '{name} was removed',
  'announce.hand': '{name} raises a hand',
  'announce.locked': 'The room is locked.',
  'announce.unlocked': 'The room is unlocked.',
  'key.space': 'Space',
  'key.enter': 'Enter',
  'key.ctrl_left': 'Left Ctrl',
  'key.ctrl_right': 'Right Ctrl',
  'key.shift_left': 'Left Shift',
  'key.shift_right': 'Right Shift',
  'key.alt_left': 'Left Alt',
  'key.alt_right': 'Right Alt',

  'ended.left_title': 'You left the room',
  'ended.left': 'See you soon.',
  'ended.kicked_title': 'You were removed',
  'ended.kicked': '{name} removed you from the room.',
  'ended.closed_title': 'Room closed',
  'ended.closed': 'An organizer deleted the room.',
  'ended.rejoin': 'Rejoin the room',
  'ended.home': 'Home',

  'error.bad_password': 'Wrong password.',
  'error.bad_secret': 'This organizer link is not (or no longer) valid. You can enter as a participant.',
  'error.room_full': 'The room is full.',
  'error.room_locked': 'The room is locked: only organizers can enter.',
  'error.rate_limited': 'Too many attempts: wait a moment before trying again.',
  'error.not_found': 'This room does not exist, and this server does not create rooms on the fly.',
  'error.not_found_participant': 'This person is no longer in the room.',
  'error.bad_message': 'The server did not understand the request.',
  'error.unsupported_version': 'This page is too old for this server: reload it.',
  'error.internal': 'The server had a problem: try again.',
  'error.flood': 'Too many messages at once: the server closed the connection.',
  'error.floor_busy': 'Someone else has the floor: wait until they are done.',
  'error.not_allowed': 'Not possible: reserved to organizers, or not in this mode.',
  'error.bad_state': 'Not possible right now: try again in a moment.',
  'error.closed': 'Not connected to the server.',
  'error.timeout': 'The server does not answer.',
  'error.network': 'Cannot reach the server.',
  'error.redirect': 'The server sent us on to another server, without success: try again in a moment.',
  'error.exists': 'This room name is taken: choose another one.',
  'error.create_token': 'This server needs a valid creation token (see “creation token”).',
  'error.bad_request': 'The server refused: {message}',
  'error.unknown': 'Error: {message}',
};

const DICTS = { fr, en };
const STORE = 'palabre.lang';

function detect() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORE);
  } catch {
    // storage refused
  }
  if (saved && DICTS[saved]) return saved;
  const wanted = [navigator.language, ...(navigator.languages || [])];
  for (const l of wanted) {
    const base = String(l || '').toLowerCase().split('-')[0];
    if (DICTS[base]) return base;
  }
  return 'en';
}

let lang = detect();
document.documentElement.lang = lang;

export function getLang() {
  return lang;
}

export function setLang(l) {
  if (!DICTS[l]) return;
  lang = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(STORE, l);
  } catch {
    // the choice lasts as long as the page
  }
}

export function has(key) {
  return Object.hasOwn(DICTS[lang], key) || Object.hasOwn(en, key);
}

// t is the text for key in the current language, {placeholders} filled
// from params.
export function t(key, params = {}) {
  const dict = DICTS[lang];
  const s = Object.hasOwn(dict, key) ? dict[key] : Object.hasOwn(en, key) ? en[key] : key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
}

// tn picks the plural form of base for n: base.one, base.other (and any
// other CLDR category the dictionary has), with {n} filled.
export function tn(base, n, params = {}) {
  const rule = new Intl.PluralRules(lang).select(n);
  const key = has(`${base}.${rule}`) ? `${base}.${rule}` : `${base}.other`;
  return t(key, { ...params, n });
}

// applyTranslations fills the static page: data-i18n sets the text,
// data-i18n-aria-label and data-i18n-placeholder the attributes.
export function applyTranslations(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  }
}
