//! The console's words in English, French and Spanish: one struct of texts per language, so a
//! template that names a text every language lacks does not compile.

use helpline_domain::case::{CaseStatus, Impact, Urgency};

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, in the order the switcher shows them.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Es];

    /// From a tag (`fr`, `es-AR`, …); `None` for a language the console does not speak.
    pub fn parse(tag: &str) -> Option<Lang> {
        match tag.trim().get(..2)?.to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "fr" => Some(Lang::Fr),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The first spoken language of an `Accept-Language` header, by its order of preference.
    pub fn negotiate(header: &str) -> Option<Lang> {
        let mut tags: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0));
        tags.into_iter().find_map(|(_, t)| Lang::parse(t))
    }

    /// The BCP 47 code (`<html lang>`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// Its own name for itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Es => "Español",
        }
    }

    /// The texts.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
            Lang::Es => &ES,
        }
    }
}

/// Every text of the console in one language (the field names say what each is for).
#[derive(Debug)]
#[allow(missing_docs)]
pub struct Texts {
    pub skip: &'static str,
    pub sign_in: &'static str,
    pub sign_in_lead: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub code: &'static str,
    pub code_hint: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub wrong: &'static str,
    pub paused: &'static str,
    pub expired_form: &'static str,
    pub needs_factor: &'static str,
    pub queue: &'static str,
    pub views: &'static str,
    pub view_open: &'static str,
    pub view_mine: &'static str,
    pub view_unassigned: &'static str,
    pub view_waiting: &'static str,
    pub view_critical: &'static str,
    pub search: &'static str,
    pub search_go: &'static str,
    pub no_cases: &'static str,
    pub more: &'static str,
    pub reference: &'static str,
    pub summary: &'static str,
    pub status: &'static str,
    pub priority: &'static str,
    pub urgency: &'static str,
    pub assignee: &'static str,
    pub nobody: &'static str,
    pub due: &'static str,
    pub late: &'static str,
    pub first_response: &'static str,
    pub resolution: &'static str,
    pub confidential: &'static str,
    pub opened: &'static str,
    pub service: &'static str,
    pub beneficiary: &'static str,
    pub timeline: &'static str,
    pub nothing_yet: &'static str,
    pub older: &'static str,
    pub kind_message: &'static str,
    pub kind_comment: &'static str,
    pub kind_action: &'static str,
    pub kind_next_step: &'static str,
    pub kind_party: &'static str,
    pub kind_handoff: &'static str,
    pub kind_audit: &'static str,
    pub inbound: &'static str,
    pub outbound: &'static str,
    pub not_found: &'static str,
    pub forbidden: &'static str,
    pub conflict: &'static str,
    pub failed: &'static str,
    pub back: &'static str,
    pub language: &'static str,
    pub new_case: &'static str,
    pub new_case_lead: &'static str,
    pub person: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub audience: &'static str,
    pub request: &'static str,
    pub description: &'static str,
    pub impact: &'static str,
    pub priority_matrix: &'static str,
    pub confidential_hint: &'static str,
    pub open_case: &'static str,
    pub fix_fields: &'static str,
    pub referred: &'static str,
    pub choose: &'static str,
    pub change_status: &'static str,
    pub save: &'static str,
    pub back_to_case: &'static str,
    pub impacts: [&'static str; 3],
    pub statuses: [&'static str; 6],
    pub urgencies: [&'static str; 4],
}

impl Texts {
    /// A status in words.
    pub fn status(&self, s: &CaseStatus) -> &'static str {
        self.statuses[match s {
            CaseStatus::New => 0,
            CaseStatus::Open => 1,
            CaseStatus::Pending => 2,
            CaseStatus::Resolved => 3,
            CaseStatus::Closed => 4,
            CaseStatus::Rejected => 5,
        }]
    }

    /// An impact in words.
    pub fn impact_name(&self, i: &Impact) -> &'static str {
        self.impacts[match i {
            Impact::Low => 0,
            Impact::Medium => 1,
            Impact::High => 2,
        }]
    }

    /// An urgency in words.
    pub fn urgency_name(&self, u: &Urgency) -> &'static str {
        self.urgencies[match u {
            Urgency::Low => 0,
            Urgency::Medium => 1,
            Urgency::High => 2,
            Urgency::Critical => 3,
        }]
    }
}

static EN: Texts = Texts {
    back_to_case: "Back to the case",
    change_status: "Move to",
    save: "Save",
    new_case: "New case",
    new_case_lead: "A first contact: who asks for help, and with what. A person already on record is found by their address.",
    person: "The person",
    name: "Name",
    email: "Email address (optional)",
    audience: "Who they are",
    request: "The request",
    description: "What happened (optional)",
    impact: "Impact",
    priority_matrix: "How urgency and impact set the priority",
    confidential_hint: "Only you, the assignee, people granted access and the leads will see it.",
    open_case: "Open the case",
    fix_fields: "Some fields need a change:",
    referred: "Recorded and passed to a lead, who will follow up: this address belongs to someone whose cases you may not see.",
    choose: "Choose…",
    impacts: ["Low", "Medium", "High"],
    skip: "Skip to the content",
    sign_in: "Sign in",
    sign_in_lead: "Helpline staff only. Sign in with your account and, if you set one up, your authenticator's code.",
    username: "Username",
    password: "Password",
    code: "Code from your authenticator app",
    code_hint: "Six digits, or one of your recovery codes. Leave empty if you have no second factor.",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    wrong: "Wrong username, password or code.",
    paused: "Too many failed attempts: wait a minute, then try again.",
    expired_form: "This form had expired. Please try again.",
    needs_factor: "Your account must have a second factor. Set one up with your administrator, then sign in again.",
    queue: "Queue",
    views: "Views",
    view_open: "All open",
    view_mine: "Mine",
    view_unassigned: "Unassigned",
    view_waiting: "Waiting on the beneficiary",
    view_critical: "Critical",
    search: "Search cases",
    search_go: "Search",
    no_cases: "No case here.",
    more: "Next page",
    reference: "Case",
    summary: "Summary",
    status: "Status",
    priority: "Priority",
    urgency: "Urgency",
    assignee: "Assigned to",
    nobody: "nobody",
    due: "Due",
    late: "late",
    first_response: "First response",
    resolution: "Resolution",
    confidential: "Confidential",
    opened: "Opened",
    service: "Service",
    beneficiary: "Beneficiary",
    timeline: "Timeline",
    nothing_yet: "Nothing recorded yet.",
    older: "Older entries",
    kind_message: "Message",
    kind_comment: "Comment",
    kind_action: "Action",
    kind_next_step: "Next step",
    kind_party: "Party",
    kind_handoff: "Hand-off",
    kind_audit: "Change",
    inbound: "received",
    outbound: "sent",
    not_found: "There is nothing here, or you may not see it.",
    forbidden: "Your role does not allow this.",
    conflict: "Someone changed this since you opened it. Reload the page to see their change, then try again.",
    failed: "That did not work.",
    back: "Back to the queue",
    language: "Language",
    statuses: ["New", "Open", "Waiting", "Resolved", "Closed", "Rejected"],
    urgencies: ["Low", "Medium", "High", "Critical"],
};

static FR: Texts = Texts {
    back_to_case: "Retour au dossier",
    change_status: "Passer à",
    save: "Enregistrer",
    new_case: "Nouveau dossier",
    new_case_lead: "Un premier contact : qui demande de l'aide, et pour quoi. Une personne déjà connue est retrouvée par son adresse.",
    person: "La personne",
    name: "Nom",
    email: "Adresse e-mail (facultatif)",
    audience: "Qui est-ce",
    request: "La demande",
    description: "Ce qui s'est passé (facultatif)",
    impact: "Impact",
    priority_matrix: "Comment l'urgence et l'impact fixent la priorité",
    confidential_hint: "Seuls vous, la personne attribuée, les personnes autorisées et les responsables le verront.",
    open_case: "Ouvrir le dossier",
    fix_fields: "Certains champs sont à corriger :",
    referred: "Enregistré et transmis à un·e responsable, qui fera le suivi : cette adresse appartient à une personne dont vous ne pouvez pas voir les dossiers.",
    choose: "Choisir…",
    impacts: ["Faible", "Moyen", "Élevé"],
    skip: "Aller au contenu",
    sign_in: "Se connecter",
    sign_in_lead: "Réservé à l'équipe de la ligne d'assistance. Connectez-vous avec votre compte et, si vous en avez configuré un, le code de votre application d'authentification.",
    username: "Nom d'utilisateur",
    password: "Mot de passe",
    code: "Code de votre application d'authentification",
    code_hint: "Six chiffres, ou l'un de vos codes de secours. Laissez vide si vous n'avez pas de second facteur.",
    sign_out: "Se déconnecter",
    signed_in_as: "Connecté·e en tant que",
    wrong: "Nom d'utilisateur, mot de passe ou code incorrect.",
    paused: "Trop de tentatives échouées : attendez une minute, puis réessayez.",
    expired_form: "Ce formulaire avait expiré. Veuillez réessayer.",
    needs_factor: "Votre compte doit avoir un second facteur. Configurez-le avec votre administrateur, puis reconnectez-vous.",
    queue: "File",
    views: "Vues",
    view_open: "Tous les ouverts",
    view_mine: "Les miens",
    view_unassigned: "Non attribués",
    view_waiting: "En attente de la personne",
    view_critical: "Critiques",
    search: "Rechercher des dossiers",
    search_go: "Rechercher",
    no_cases: "Aucun dossier ici.",
    more: "Page suivante",
    reference: "Dossier",
    summary: "Résumé",
    status: "État",
    priority: "Priorité",
    urgency: "Urgence",
    assignee: "Attribué à",
    nobody: "personne",
    due: "Échéance",
    late: "en retard",
    first_response: "Première réponse",
    resolution: "Résolution",
    confidential: "Confidentiel",
    opened: "Ouvert le",
    service: "Service",
    beneficiary: "Bénéficiaire",
    timeline: "Chronologie",
    nothing_yet: "Rien d'enregistré pour l'instant.",
    older: "Entrées plus anciennes",
    kind_message: "Message",
    kind_comment: "Commentaire",
    kind_action: "Action",
    kind_next_step: "Prochaine étape",
    kind_party: "Partie",
    kind_handoff: "Passation",
    kind_audit: "Modification",
    inbound: "reçu",
    outbound: "envoyé",
    not_found: "Il n'y a rien ici, ou vous ne pouvez pas le voir.",
    forbidden: "Votre rôle ne le permet pas.",
    conflict: "Quelqu'un a modifié ceci depuis que vous l'avez ouvert. Rechargez la page pour voir sa modification, puis réessayez.",
    failed: "Cela n'a pas fonctionné.",
    back: "Retour à la file",
    language: "Langue",
    statuses: ["Nouveau", "Ouvert", "En attente", "Résolu", "Clos", "Refusé"],
    urgencies: ["Faible", "Moyenne", "Haute", "Critique"],
};

static ES: Texts = Texts {
    back_to_case: "Volver al caso",
    change_status: "Pasar a",
    save: "Guardar",
    new_case: "Nuevo caso",
    new_case_lead: "Un primer contacto: quién pide ayuda y para qué. Una persona ya registrada se encuentra por su dirección.",
    person: "La persona",
    name: "Nombre",
    email: "Correo electrónico (opcional)",
    audience: "Quién es",
    request: "La solicitud",
    description: "Qué pasó (opcional)",
    impact: "Impacto",
    priority_matrix: "Cómo la urgencia y el impacto fijan la prioridad",
    confidential_hint: "Solo tú, la persona asignada, quienes tengan acceso y las personas responsables lo verán.",
    open_case: "Abrir el caso",
    fix_fields: "Algunos campos necesitan un cambio:",
    referred: "Registrado y enviado a una persona responsable, que hará el seguimiento: esta dirección pertenece a alguien cuyos casos no puedes ver.",
    choose: "Elegir…",
    impacts: ["Bajo", "Medio", "Alto"],
    skip: "Saltar al contenido",
    sign_in: "Iniciar sesión",
    sign_in_lead: "Solo para el equipo de la línea de ayuda. Inicia sesión con tu cuenta y, si configuraste uno, el código de tu aplicación de autenticación.",
    username: "Usuario",
    password: "Contraseña",
    code: "Código de tu aplicación de autenticación",
    code_hint: "Seis dígitos, o uno de tus códigos de recuperación. Déjalo vacío si no tienes segundo factor.",
    sign_out: "Cerrar sesión",
    signed_in_as: "Sesión iniciada como",
    wrong: "Usuario, contraseña o código incorrectos.",
    paused: "Demasiados intentos fallidos: espera un minuto y vuelve a intentarlo.",
    expired_form: "Este formulario había caducado. Inténtalo de nuevo.",
    needs_factor: "Tu cuenta debe tener un segundo factor. Configúralo con tu administrador y vuelve a iniciar sesión.",
    queue: "Cola",
    views: "Vistas",
    view_open: "Todos los abiertos",
    view_mine: "Míos",
    view_unassigned: "Sin asignar",
    view_waiting: "Esperando a la persona",
    view_critical: "Críticos",
    search: "Buscar casos",
    search_go: "Buscar",
    no_cases: "No hay casos aquí.",
    more: "Página siguiente",
    reference: "Caso",
    summary: "Resumen",
    status: "Estado",
    priority: "Prioridad",
    urgency: "Urgencia",
    assignee: "Asignado a",
    nobody: "nadie",
    due: "Vence",
    late: "atrasado",
    first_response: "Primera respuesta",
    resolution: "Resolución",
    confidential: "Confidencial",
    opened: "Abierto el",
    service: "Servicio",
    beneficiary: "Beneficiaria/o",
    timeline: "Cronología",
    nothing_yet: "Nada registrado todavía.",
    older: "Entradas anteriores",
    kind_message: "Mensaje",
    kind_comment: "Comentario",
    kind_action: "Acción",
    kind_next_step: "Próximo paso",
    kind_party: "Parte",
    kind_handoff: "Traspaso",
    kind_audit: "Cambio",
    inbound: "recibido",
    outbound: "enviado",
    not_found: "No hay nada aquí, o no puedes verlo.",
    forbidden: "Tu rol no lo permite.",
    conflict: "Alguien cambió esto desde que lo abriste. Recarga la página para ver su cambio y vuelve a intentarlo.",
    failed: "Eso no funcionó.",
    back: "Volver a la cola",
    language: "Idioma",
    statuses: ["Nuevo", "Abierto", "En espera", "Resuelto", "Cerrado", "Rechazado"],
    urgencies: ["Baja", "Media", "Alta", "Crítica"],
};
