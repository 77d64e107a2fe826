/**
 * The satisfaction question on WhatsApp, in the customer's language (their
 * profile's locale), English otherwise. The widget asks in its own texts.
 */
const SURVEY_TEXTS: Readonly<Record<string, string>> = {
  en: 'How would you rate our help? Reply with a number from 1 (poor) to 5 (excellent).',
  de: 'Wie zufrieden waren Sie mit unserer Hilfe? Antworten Sie mit einer Zahl von 1 (schlecht) bis 5 (ausgezeichnet).',
  fr: 'Comment évaluez-vous notre aide ? Répondez par un chiffre de 1 (mauvais) à 5 (excellent).',
  es: '¿Cómo valoraría nuestra ayuda? Responda con un número del 1 (mala) al 5 (excelente).',
};

export function surveyText(locale: string | undefined): string {
  const language = (locale ?? 'en').slice(0, 2).toLowerCase();
  return SURVEY_TEXTS[language] ?? SURVEY_TEXTS['en']!;
}
